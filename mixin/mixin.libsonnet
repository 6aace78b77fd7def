// pinpoint-email-exporter's monitoring mixin: `prometheusAlerts` (the alerts
// and the recording rules they read) and `grafanaDashboards`, configured by
// `_config` (config.libsonnet).
(import 'config.libsonnet')
+ (import 'alerts/alerts.libsonnet')
+ (import 'dashboards/dashboards.libsonnet')
