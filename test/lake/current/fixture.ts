/** A lake in a temp directory, a state store and a merge engine, for current-state tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { schemaKey, type TableSchema } from '../../../src/core/schema.ts';
import { Metrics } from '../../../src/core/metrics.ts';
import type { StateStore, StateValue } from '../../../src/state/state-store.ts';
import { FsObjectStore } from '../../../src/lake/fs/fs-object-store.ts';
import { MergeEngine } from '../../../src/lake/current/merge-engine.ts';

export interface Fixture {
  readonly dir: string;
  readonly lake: FsObjectStore;
  readonly engine: MergeEngine;
  readonly metrics: Metrics;
  /** Fake clock, in ms; tests move it to pass grace periods. */
  clock: number;
  close(): Promise<void>;
}

/** Records `schema` in `state` the way sources do. */
export async function putSchema(state: StateStore, schema: TableSchema): Promise<void> {
  await state.commit([{ type: 'put', key: schemaKey(schema, schema.version), value: schema as unknown as StateValue }]);
}

export async function openFixture(state: StateStore, options: { buckets?: number; graceMs?: number; dir?: string } = {}): Promise<Fixture> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'hydrant-current-'));
  const lake = new FsObjectStore(join(dir, 'lake'));
  const metrics = new Metrics();
  const fx: Fixture = {
    dir,
    lake,
    metrics,
    clock: 1_800_000_000_000,
    engine: undefined as unknown as MergeEngine,
    async close() {
      await fx.engine.close();
      if (options.dir === undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
  (fx as { engine: MergeEngine }).engine = await MergeEngine.open({ state, lake, tmpDir: join(dir, 'tmp'), buckets: options.buckets ?? 8, graceMs: options.graceMs ?? 60_000, metrics, now: () => fx.clock });
  return fx;
}
