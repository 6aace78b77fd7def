// Writes a TypeScript module that holds the dashboard JSON as an object literal
// which must satisfy Grafana's Dashboard type: tsc then reports every unknown
// property, missing required property and wrongly typed value, with its line.
import { readFileSync } from 'node:fs';

const path = process.argv[2];
const text = readFileSync(path, 'utf8');
JSON.parse(text); // fail early, with the JSON parser's message, on invalid JSON

process.stdout.write(`// Generated from ${path} by generate.mjs; do not edit.
import type { AnnotationQuery, Dashboard, DataQuery } from '@grafana/schema';

// JSON spells enum members by their values: compare against those.
type Json<T> = T extends string ? \`\${T}\` : T extends number | boolean | null | undefined ? T :
  T extends (infer U)[] ? Json<U>[] : T extends object ? { [K in keyof T]: Json<T[K]> } : T;

// The query model of Prometheus annotations, which @grafana/schema leaves open.
interface PrometheusAnnotationQuery extends DataQuery {
  expr: string;
  step?: string;
  titleFormat?: string;
  textFormat?: string;
  tagKeys?: string;
  useValueForTime?: boolean;
}

// Dashboards exported for sharing carry __inputs and __requires besides the model.
type Exported = Json<Omit<Dashboard, 'annotations'>> & {
  annotations?: { list?: Json<AnnotationQuery<PrometheusAnnotationQuery>>[] };
  __inputs?: { name: string; label: string; description?: string; type: string; pluginId: string; pluginName: string }[];
  __requires?: { type: string; id: string; name: string; version: string }[];
};

export const dashboard = ${text.trim()} satisfies Exported;
`);
