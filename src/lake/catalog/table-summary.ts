/** Per-table totals of the catalog (and of current-state tables), for `hydrant tables`. */
import type { StateStore } from '../../state/state-store.ts';
import { listObjects, listTableVersions } from './catalog.ts';
import { listCurrentTables } from '../current/manifest.ts';

export interface TableSummary {
  readonly table: string;
  /** The name to use in `hydrant query`. */
  readonly queryAs: string;
  /** `current` rows are current-state tables built by `hydrant merge`. */
  readonly kind: 'changes' | 'events' | 'current';
  readonly schemaVersions: readonly number[];
  readonly objects: number;
  readonly rows: number;
  readonly bytes: number;
  /** Distinct partition value sets. */
  readonly partitions: number;
  /** Error objects of deliveries that wrote this table. */
  readonly errorObjects: number;
}

export async function tableSummaries(state: StateStore): Promise<TableSummary[]> {
  const objects = await listObjects(state);
  const versions = await listTableVersions(state);
  const by = new Map<string, { kind: 'changes' | 'events'; objects: number; rows: number; bytes: number; parts: Set<string>; versions: Set<number>; deliveries: Set<string> }>();
  for (const o of objects) {
    if (o.kind === 'errors') continue;
    const t = by.get(o.table) ?? { kind: o.kind, objects: 0, rows: 0, bytes: 0, parts: new Set<string>(), versions: new Set<number>(), deliveries: new Set<string>() };
    t.objects++;
    t.rows += o.rows;
    t.bytes += o.bytes;
    t.parts.add(JSON.stringify(o.partition));
    t.versions.add(o.schemaVersion);
    t.deliveries.add(o.delivery);
    by.set(o.table, t);
  }
  for (const v of versions) by.get(v.table)?.versions.add(v.version);
  const errs = objects.filter((o) => o.kind === 'errors');
  const current: TableSummary[] = (await listCurrentTables(state)).map((m) => {
    const table = `${m.table.source}.${m.table.schema}.${m.table.table}`;
    return { table, queryAs: table, kind: 'current', schemaVersions: [m.schemaVersion], objects: m.files.length, rows: m.rows, bytes: m.files.reduce((a, f) => a + f.bytes, 0), partitions: m.files.length, errorObjects: 0 };
  });
  const logged: TableSummary[] = [...by].map(([table, t]) => ({
    table,
    queryAs: t.kind === 'events' ? table : `${table}_changes`,
    kind: t.kind,
    schemaVersions: [...t.versions].sort((a, b) => a - b),
    objects: t.objects,
    rows: t.rows,
    bytes: t.bytes,
    partitions: t.parts.size,
    errorObjects: errs.filter((e) => t.deliveries.has(e.delivery)).length,
  }));
  return [...logged, ...current].sort((a, b) => (a.queryAs < b.queryAs ? -1 : a.queryAs > b.queryAs ? 1 : 0));
}
