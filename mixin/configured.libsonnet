// The mixin with `config` over its defaults, for the render entry points:
// `alertFor` is merged alert by alert, so settings given as JSON can change one
// alert's `for` without repeating the others.
function(config)
  local base = import 'mixin.libsonnet';
  local alertFor = if std.objectHas(config, 'alertFor') then config.alertFor else {};
  base { _config+:: config { alertFor: base._config.alertFor + alertFor } }
