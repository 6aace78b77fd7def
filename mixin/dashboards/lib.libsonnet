// Small helpers for the mixin's Grafana dashboards: the Prometheus of every
// panel and query is the dashboard's `datasource` variable.
local ds = { type: 'prometheus', uid: '${datasource}' };

local sum(xs) = std.foldl(function(a, b) a + b, xs, 0);

// The last non-null value of each series, for stat and bar gauge panels.
local lastNotNull = { calcs: ['lastNotNull'], fields: '', values: false };

// What every panel but a row has; `defaults` and `options` are merged into
// the panel type's own.
local panel(type, id, title, description, targets, defaults={}, overrides=[], options={}) = {
  id: id,
  type: type,
  title: title,
  description: description,
  datasource: ds,
  targets: if std.isArray(targets) then targets else [targets],
  fieldConfig: { defaults: defaults, overrides: overrides },
  options: options,
};

// Drops a table's `Time` column.
local hideTime = [{ id: 'organize', options: { excludeByName: { Time: true } } }];

{
  datasource:: ds,

  // A Prometheus query of a panel.
  target(expr, legend=null, instant=false, format=null, refId='A')::
    { refId: refId, datasource: ds, expr: expr }
    + (if legend != null then { legendFormat: legend } else {})
    + (if format != null then { format: format } else {})
    + (if instant then { instant: true } else {}),

  // Absolute thresholds: `base` below the first step, then each [color,
  // value] of `steps` from its value up (sorted by value).
  thresholds(base, steps):: {
    mode: 'absolute',
    steps: [{ color: base, value: null }]
           + [{ color: s[0], value: s[1] } for s in std.sort(steps, function(s) s[1])],
  },

  // Field defaults coloring values by thresholds, with value mappings when
  // given (an empty list is kept).
  colorByThresholds(base, steps, mappings=null):: {
    color: { mode: 'thresholds' },
    thresholds: $.thresholds(base, steps),
  } + (if mappings != null then { mappings: mappings } else {}),

  // Field defaults of a time series drawing thresholds as lines (`style`:
  // 'line', 'line+area').
  thresholdLines(base, steps, style='line'):: {
    color: { mode: 'palette-classic' },
    thresholds: $.thresholds(base, steps),
    custom+: { thresholdsStyle: { mode: style } },
  },

  fixedText:: { color: { mode: 'fixed', fixedColor: 'text' } },

  // One value mapping: each [value, text, color] of `entries`, in order.
  valueMappings(entries):: [{
    type: 'value',
    options: {
      [std.toString(entries[i][0])]: { text: entries[i][1], color: entries[i][2], index: i }
      for i in std.range(0, std.length(entries) - 1)
    },
  }],

  // A field override: the properties ({id: value}, in the order given as
  // [id, value] pairs) of the fields `matcher` ('byName', 'byRegexp') matches.
  override(matcher, name, properties):: {
    matcher: { id: matcher, options: name },
    properties: [{ id: p[0], value: p[1] } for p in properties],
  },

  row(id, title):: {
    id: id,
    type: 'row',
    title: title,
    collapsed: false,
    panels: [],
  },

  timeseries(id, title, description, targets, unit, fill=0, defaults={}, overrides=[])::
    panel('timeseries', id, title, description, targets, { unit: unit, min: 0, custom: { fillOpacity: fill } } + defaults, overrides, {
      legend: { showLegend: true, displayMode: 'list', placement: 'bottom', calcs: [] },
      tooltip: { mode: 'multi', sort: 'desc' },
    }),

  stat(id, title, description, targets, defaults, textMode='value', colorMode='background')::
    panel('stat', id, title, description, targets, defaults, [], {
      colorMode: colorMode,
      graphMode: 'none',
      textMode: textMode,
      justifyMode: 'auto',
      orientation: 'auto',
      reduceOptions: lastNotNull,
    }),

  bargauge(id, title, description, targets, defaults)::
    panel('bargauge', id, title, description, targets, defaults, [], {
      displayMode: 'gradient',
      orientation: 'horizontal',
      showUnfilled: true,
      reduceOptions: lastNotNull,
    }),

  // Value mappings name the states; their colors are the thresholds'.
  stateTimeline(id, title, description, targets, mappings, thresholds)::
    panel('state-timeline', id, title, description, targets, {
      color: { mode: 'thresholds' },
      mappings: mappings,
      thresholds: thresholds,
    }, [], {
      showValue: 'auto',
      mergeValues: true,
      rowHeight: 0.9,
      legend: { showLegend: false, displayMode: 'list', placement: 'bottom' },
      tooltip: { mode: 'single', sort: 'none' },
    }),

  table(id, title, description, targets, defaults={}, overrides=[], options={})::
    panel('table', id, title, description, targets, defaults, overrides, { showHeader: true } + options)
    + { transformations: hideTime },

  // A line of panels side by side, `h` high: `w` is every panel's width, or
  // one width per panel.
  line(h, w, panels):: { h: h, w: if std.isArray(w) then w else [w for _ in panels], panels: panels },

  // The dashboard's panels from top to bottom: rows (a whole-width line of
  // height 1) and lines; sets each panel's gridPos.
  layout(items)::
    local lines = [if std.objectHas(it, 'type') then $.line(1, 24, [it]) else it for it in items];
    local ys = std.foldl(function(acc, l) acc + [acc[std.length(acc) - 1] + l.h], lines, [0]);
    std.flattenArrays([
      local l = lines[i];
      assert sum(l.w) <= 24 : 'line %d is wider than 24' % i;
      [
        l.panels[j] { gridPos: { x: sum(l.w[:j]), y: ys[i], w: l.w[j], h: l.h } }
        for j in std.range(0, std.length(l.panels) - 1)
      ]
      for i in std.range(0, std.length(lines) - 1)
    ]),

  // A dashboard variable with the values of a label_values() query.
  queryVariable(name, label, query):: {
    name: name,
    label: label,
    type: 'query',
    datasource: ds,
    query: { query: query, refId: name },
    refresh: 2,
    includeAll: true,
    multi: true,
    allValue: '.*',
    sort: 1,
    current: { selected: true, text: ['All'], value: ['$__all'] },
    hide: 0,
    options: [],
    regex: '',
    skipUrlSync: false,
  },

  // The variable that chooses the Prometheus.
  datasourceVariable:: {
    name: 'datasource',
    label: 'Data source',
    type: 'datasource',
    query: 'prometheus',
    hide: 0,
    includeAll: false,
    multi: false,
    options: [],
    refresh: 1,
    regex: '',
    skipUrlSync: false,
  },
}
