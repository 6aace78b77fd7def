{
  local c = $._config,
  local matchers = c { m: c.pinpointEmailMatchers },
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
