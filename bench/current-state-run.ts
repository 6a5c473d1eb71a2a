/**
 * What merging current-state tables inside `hydrant run` (`current_state`) costs the pipeline:
 * generator → embedded stream log → lake delivery (Parquet, zstd), until caught up, with
 * merging off (the peer, measured in the same run) and on (a round every second, plus the final
 * merge), on 2 shards and on 1. Also counts the table merges that had to rebuild from the whole
 * history: with per-shard high-water marks none should on either layout (before them, most
 * merges on 2 shards did; docs/current-state.md, "Sharded streams"). Sides alternate, best of
 * 2 rounds; CPU time is the whole process (all threads, DuckDB's included).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Benchmark, BenchRow } from './harness.ts';
import { createLogger } from '../src/core/logger.ts';
import { runtimeSpecFromPlain } from '../src/runtime/build.ts';
import { PipelineRunner } from '../src/runtime/pipeline-runner.ts';

const TABLES = ['customers', 'products', 'orders', 'order_items'];

interface Side {
  readonly name: string;
  readonly shards: number;
  readonly merging: boolean;
}

interface Measured {
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly merges: number;
  readonly rebuilds: number;
}

async function runSide(side: Side, count: number, dir: string): Promise<Measured> {
  rmSync(dir, { recursive: true, force: true });
  const spec = runtimeSpecFromPlain({
    name: 'bench-current-state',
    lake: { type: 'fs', path: 'lake' },
    current_state: { enabled: side.merging, interval: '1s' },
    streams: { changes: { shards: side.shards } },
    sources: { shop: { type: 'generator', stream: 'changes', seed: 42, count, batch_size: 1000 } },
    deliveries: { lake: { type: 'lake', stream: 'changes', format: 'parquet', compression: 'zstd', buffer_interval_s: 1 } },
  }, dir);
  let merges = 0;
  let rebuilds = 0;
  const logger = createLogger({ level: 'info', sink: (line) => {
    if (!line.includes('"msg":"current-state table merged"')) return;
    merges++;
    if (line.includes('"rebuilt":true')) rebuilds++;
  } });
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const runner = await PipelineRunner.open(spec, { untilCaughtUp: true, logger });
  const summary = await runner.run();
  const seconds = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  let delivered = 0;
  for (const t of TABLES) delivered += runner.metrics.get('hydrant_delivery_records_total', { delivery: 'lake', table: t });
  if (summary.reason !== 'caught-up' || delivered !== count) throw new Error(`${side.name}: ${summary.reason}, delivered ${delivered} of ${count} events`);
  if (side.merging && (summary.merged === undefined || summary.merged.some((r) => r.problem !== undefined))) throw new Error(`${side.name}: the final merge failed: ${JSON.stringify(summary.merged)}`);
  rmSync(dir, { recursive: true, force: true });
  return { seconds, cpuSeconds: (c.user + c.system) / 1e6, merges, rebuilds };
}

export const bench: Benchmark = {
  name: 'current-state-run',
  summary: 'hydrant run with current-state merging on (every 1 s + final) vs off, 2 shards and 1',
  async run({ smoke, n, workDir }) {
    const count = n ?? (smoke ? 3000 : 200_000);
    const sides: Side[] = [
      { name: 'merging off, 2 shards', shards: 2, merging: false },
      { name: 'merging on, 2 shards', shards: 2, merging: true },
      { name: 'merging off, 1 shard', shards: 1, merging: false },
      { name: 'merging on, 1 shard', shards: 1, merging: true },
    ];
    const best = new Map<string, Measured>();
    for (let round = 0; round < (smoke ? 1 : 2); round++) {
      for (const side of sides) {
        const m = await runSide(side, count, join(workDir, 'current-state-run'));
        const prev = best.get(side.name);
        if (prev === undefined || m.cpuSeconds < prev.cpuSeconds) best.set(side.name, m);
      }
    }
    const rows: BenchRow[] = [];
    for (const side of sides) {
      const m = best.get(side.name) as Measured;
      rows.push({ name: side.name, value: count / m.seconds, unit: 'events/s', note: `${m.seconds.toFixed(1)} s wall, ${m.cpuSeconds.toFixed(1)} s CPU${side.merging ? `, ${m.merges} table merges, ${m.rebuilds} rebuilt from history` : ''}` });
    }
    const cpu = (name: string): number => (best.get(name) as Measured).cpuSeconds;
    return {
      rows,
      ratios: [
        { name: 'CPU on / off, 2 shards', value: cpu('merging on, 2 shards') / cpu('merging off, 2 shards') },
        { name: 'CPU on / off, 1 shard', value: cpu('merging on, 1 shard') / cpu('merging off, 1 shard') },
      ],
    };
  },
};
