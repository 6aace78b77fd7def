// The Grafana dashboards, one file each (grafana/pinpoint-email.json with the
// defaults):
//
//   jsonnet -m OUT mixin/dashboards.jsonnet
//
// Settings of config.libsonnet as JSON, without writing Jsonnet:
//
//   jsonnet -m OUT --tla-code-file config=settings.json mixin/dashboards.jsonnet
function(config={})
  (import 'configured.libsonnet')(config).grafanaDashboards
