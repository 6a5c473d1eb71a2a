/**
 * End-to-end throughput of the hot path through the real runner (src/runtime/): generator →
 * embedded stream log (2 shards, fsync before ack) → file delivery (JSONL) and → lake delivery
 * (Parquet, zstd), until caught up. Beside them, in the same run, the physical limit the
 * pipeline cannot beat: the embedded log appending the same records (the same encoded bytes
 * and partition keys, encoded before the clock starts) in the same batch size, with nothing
 * else to do. Also the generator alone, to see what the source itself costs.
 *
 * Each side runs in its own child process so its peak RSS is its own; sides alternate, best
 * of 2 rounds. `HYDRANT_BENCH_PROFILE=DIR` writes a CPU profile of every child into DIR.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { Benchmark, BenchRow } from './harness.ts';
import { encodeEnvelope, partitionKeyOf } from '../src/core/change-event.ts';
import { createLogger } from '../src/core/logger.ts';
import { runtimeSpecFromPlain } from '../src/runtime/build.ts';
import { PipelineRunner } from '../src/runtime/pipeline-runner.ts';
import { EmbeddedStreamLog } from '../src/stream/embedded/embedded-stream-log.ts';
import type { PutRecord } from '../src/stream/stream-log.ts';
import { Workload } from '../src/sources/generator/workload.ts';

const SELF = fileURLToPath(import.meta.url);
const SHARDS = 2;
const BATCH = Number(process.env["BENCH_BATCH"] ?? 500);
const SEED = 42;
const START = '2024-01-01T00:00:00Z';
const ROUNDS = 2;

/** What a child reports. */
interface ChildResult {
  readonly events: number;
  readonly seconds: number;
  readonly bytes: number;
  readonly maxRssMiB: number;
  /** CPU time of the timed part (user + system, all threads): less sensitive to noisy neighbours than wall time. */
  readonly cpuSeconds: number;
  /** Output objects (files) the delivery wrote. */
  readonly objects?: number;
}

type Mode = 'file' | 'lake' | 'log' | 'generator';

function workload(): Workload {
  return new Workload(SEED, { source: 'shop', database: 'shop', schema: 'public', startMillis: Date.parse(START) });
}

/** Child: the whole pipeline through PipelineRunner, until caught up. */
async function pipelineChild(mode: 'file' | 'lake', count: number, dir: string): Promise<ChildResult> {
  const delivery = mode === 'file'
    ? { type: 'file', stream: 'changes', max_records: 10_000 }
    : { type: 'lake', stream: 'changes', format: 'parquet', compression: 'zstd' };
  const spec = runtimeSpecFromPlain({
    name: 'bench-pipeline',
    lake: { type: 'fs', path: 'lake' },
    streams: { changes: { shards: SHARDS } },
    sources: { shop: { type: 'generator', stream: 'changes', seed: SEED, count, batch_size: BATCH, start_time: START } },
    deliveries: { out: delivery },
  }, dir);
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const runner = await PipelineRunner.open(spec, { untilCaughtUp: true, logger: createLogger({ level: 'error' }) });
  const summary = await runner.run();
  const seconds = (performance.now() - t0) / 1000;
  const delivered = runner.metrics.get('hydrant_delivery_records_total', { delivery: 'out', table: 'customers' })
    + runner.metrics.get('hydrant_delivery_records_total', { delivery: 'out', table: 'products' })
    + runner.metrics.get('hydrant_delivery_records_total', { delivery: 'out', table: 'orders' })
    + runner.metrics.get('hydrant_delivery_records_total', { delivery: 'out', table: 'order_items' });
  if (summary.reason !== 'caught-up' || delivered !== count) throw new Error(`pipeline ${mode}: ${summary.reason}, delivered ${delivered} of ${count} events`);
  const used = usage(c0);
  const outDir = mode === 'file' ? join(dir, 'files') : join(dir, 'lake', 'databases');
  const objects = readdirSync(outDir, { recursive: true, withFileTypes: true }).filter((f) => f.isFile()).length;
  return { events: count, seconds, bytes: runner.metrics.get('hydrant_source_bytes_total', { source: 'shop' }), objects, ...used };
}

/** Child: the stream log alone appending the pipeline's records (encoded before timing). */
async function logChild(count: number, dir: string): Promise<ChildResult> {
  const w = workload();
  const batches: PutRecord[][] = [];
  let bytes = 0;
  for (let i = 0; i < count; i += BATCH) {
    const b: PutRecord[] = [];
    for (let j = i; j < Math.min(count, i + BATCH); j++) {
      const e = w.next();
      const data = encodeEnvelope(e);
      bytes += data.byteLength;
      b.push({ partitionKey: partitionKeyOf(e), data });
    }
    batches.push(b);
  }
  const log = new EmbeddedStreamLog({ dataDir: dir, retentionIntervalMs: 0 });
  await log.ensureStream('changes', { shards: SHARDS });
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  // One producer, one batch at a time: what a source loop does.
  for (const b of batches) await log.append('changes', b);
  const seconds = (performance.now() - t0) / 1000;
  await log.close();
  return { events: count, seconds, bytes, ...usage(c0) };
}

/** Child: the generator's workload alone (no encoding, no I/O). */
function generatorChild(count: number): ChildResult {
  const w = workload();
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let sink = 0;
  for (let i = 0; i < count; i++) sink += w.next().op.length;
  const seconds = (performance.now() - t0) / 1000;
  if (sink === 0) throw new Error('no events');
  return { events: count, seconds, bytes: 0, ...usage(c0) };
}

/** Peak RSS, and CPU time (user + system, all threads) since `c0`, taken with the clock start. */
function usage(c0: NodeJS.CpuUsage): { maxRssMiB: number; cpuSeconds: number } {
  const c = process.cpuUsage(c0);
  return { maxRssMiB: process.resourceUsage().maxRSS / 1024, cpuSeconds: (c.user + c.system) / 1e6 };
}

function runChild(mode: Mode, count: number, dir: string): ChildResult {
  mkdirSync(dir, { recursive: true });
  const prof = process.env['HYDRANT_BENCH_PROFILE'];
  const r = spawnSync(process.execPath, [...(prof ? ['--cpu-prof', '--cpu-prof-dir', prof] : []), '--import', 'tsx', SELF, mode, String(count), dir], { encoding: 'utf8', maxBuffer: 1 << 20, env: { ...process.env, HYDRANT_CRASH_AT: '' } });
  rmSync(dir, { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`pipeline bench child ${mode} failed (exit ${r.status}): ${r.stderr.slice(-2000)}`);
  const line = r.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as ChildResult;
}

function best(a: ChildResult | undefined, b: ChildResult): ChildResult {
  return a === undefined || b.seconds < a.seconds ? b : a;
}

export const bench: Benchmark = {
  name: 'pipeline',
  summary: 'generator → embedded log → file / lake (Parquet) through the runner vs the log appending the same records',
  async run({ smoke, n, workDir }) {
    const count = n ?? (smoke ? 5_000 : 500_000);
    const res: Partial<Record<Mode, ChildResult>> = {};
    for (let round = 0; round < ROUNDS; round++) {
      for (const mode of ['log', 'file', 'lake', 'generator'] as const) {
        res[mode] = best(res[mode], runChild(mode, count, join(workDir, `${mode}-${round}`)));
      }
    }
    const { log, file, lake, generator } = res as Record<Mode, ChildResult>;
    const mbps = (r: ChildResult): string => `${(r.bytes / 1e6 / r.seconds).toFixed(1)} MB/s of records`;
    const row = (name: string, r: ChildResult, extra = ''): BenchRow => ({ name, value: r.events / r.seconds, unit: 'events/s', note: `${r.events} events, ${mbps(r)}, peak RSS ${r.maxRssMiB.toFixed(0)} MiB, ${Math.round(r.events / r.cpuSeconds)} events per CPU-second of the process${r.objects === undefined ? '' : `, ${r.objects} objects`}${extra}; best of ${ROUNDS}` });
    return {
      rows: [
        row('log append of the same records (limit)', log, `, ${SHARDS} shards, batches of ${BATCH}`),
        row('pipeline → file (JSONL)', file),
        row('pipeline → lake (Parquet zstd)', lake),
        // A single-threaded CPU-bound loop: CPU time is what it costs (wall time measures the neighbours).
        { name: 'generator alone', value: generator.events / generator.cpuSeconds, unit: 'events/CPU-s', note: `no encoding, no I/O; ${Math.round(generator.events / generator.seconds)} events/s wall; best of ${ROUNDS}` },
      ],
      ratios: [
        { name: 'pipeline → file vs log append', value: log.seconds / file.seconds },
        { name: 'pipeline → lake vs log append', value: log.seconds / lake.seconds },
        // The same in CPU time: on a shared machine the wall-time ratios mostly measure the neighbours.
        { name: 'pipeline → file vs log append, CPU time', value: log.cpuSeconds / file.cpuSeconds },
        { name: 'pipeline → lake vs log append, CPU time', value: log.cpuSeconds / lake.cpuSeconds },
      ],
    };
  },
};

if (process.argv[1] === SELF) {
  const [mode, countArg, dir] = process.argv.slice(2) as [Mode, string, string];
  const count = Number(countArg);
  const r = mode === 'log' ? await logChild(count, dir) : mode === 'generator' ? generatorChild(count) : await pipelineChild(mode, count, dir);
  process.stdout.write(JSON.stringify(r) + '\n');
}
