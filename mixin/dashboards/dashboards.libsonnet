{
  local c = $._config,
  // %(m)s: the selector's matchers and the install variables (one per
  // groupLabels label); %(base)s: the selector's alone, for those variables.
  local install = std.join(', ', ['%s=~"$%s"' % [l, l] for l in c.groupLabels]),
  local matchers = c { m: std.join(', ', [c.pinpointEmailMatchers, install]), base: c.pinpointEmailMatchers },
  // Every expr and query of the dashboard with its %(m)s filled in.
  local fill(v) =
    if std.isObject(v) then {
      [k]: if (k == 'expr' || k == 'query') && std.isString(v[k]) then v[k] % matchers else fill(v[k])
      for k in std.objectFields(v)
    }
    else if std.isArray(v) then std.map(fill, v)
    else v,

  grafanaDashboards+:: {
    'pinpoint-email.json': fill((import 'pinpoint-email.libsonnet')(c)),
  },
}
