// The Prometheus rule file (deploy/prometheus/alerts.yml with the defaults):
//
//   jsonnet -S mixin/alerts.jsonnet > alerts.yml
//
// Settings of config.libsonnet as JSON, without writing Jsonnet:
//
//   jsonnet -S --tla-code-file config=settings.json mixin/alerts.jsonnet > alerts.yml
function(config={})
  local mixin = (import 'configured.libsonnet')(config);
  '# Generated from mixin/ by scripts/render-mixin; do not edit: change\n'
  + '# mixin/alerts/alerts.libsonnet, or render it with your settings\n'
  + '# (docs/alerting.md, "The monitoring mixin"). Tested with `promtool test rules`\n'
  + '# (tests/rules/) and end to end against a real Prometheus (tests/integration/e2e.rs).\n'
  + std.manifestYamlDoc(mixin.prometheusAlerts, true, false)
