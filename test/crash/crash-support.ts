/**
 * Helpers of the runner crash tests: write a generator -> embedded log -> file pipeline, spawn
 * `hydrant run` as a child (optionally with HYDRANT_CRASH_AT), and verify a data dir: the
 * stream holds every generator position exactly once and in order per key, and the delivered
 * files hold every record exactly once, byte-identical to what the generator produces.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeEnvelope, envelopeToJson } from '../../src/core/change-event.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { Workload } from '../../src/sources/generator/workload.ts';
import { EmbeddedStreamLog } from '../../src/stream/embedded/embedded-stream-log.ts';
import type { ShardIterator } from '../../src/stream/stream-log.ts';
import { HYDRANT_BIN, runNode, type ChildExit } from '../support/child-process.ts';

/** Knobs of the crash pipeline. */
export interface CrashPipeline {
  readonly seed: number;
  readonly count: number;
  readonly rate?: number;
  readonly batchSize?: number;
  readonly shards?: number;
}

/** Writes `<dir>/pipeline.yaml` (data_dir = dir) and returns its path. */
export async function writePipeline(dir: string, p: CrashPipeline): Promise<string> {
  const file = join(dir, 'pipeline.yaml');
  await writeFile(file, [
    'name: crash',
    'data_dir: .',
    'streams:',
    `  changes: { shards: ${p.shards ?? 2} }`,
    'sources:',
    `  shop: { type: generator, stream: changes, seed: ${p.seed}, count: ${p.count}, rate: ${p.rate ?? 0}, batch_size: ${p.batchSize ?? 100} }`,
    'deliveries:',
    '  out: { type: file, stream: changes, max_records: 170, max_age: 40ms }',
    '',
  ].join('\n'));
  return file;
}

/**
 * Spawns `hydrant run FILE ...args`; `killAfterMs` sends SIGKILL after that delay, counted from
 * the runner's `pipeline running` log line (not from spawn), so a slow start on a loaded machine
 * does not turn a kill meant for the middle of the work into a kill before any work.
 */
export function runChild(file: string, args: readonly string[], options: { crashAt?: string; killAfterMs?: number; onSpawn?: (pid: number) => void } = {}): Promise<ChildExit> {
  const env: Record<string, string | undefined> = { ...process.env, HYDRANT_LOG_LEVEL: options.killAfterMs === undefined ? 'warn' : 'info' };
  if (options.crashAt !== undefined) env['HYDRANT_CRASH_AT'] = options.crashAt;
  else delete env['HYDRANT_CRASH_AT'];
  return runNode([HYDRANT_BIN, 'run', file, ...args], {
    env,
    ...(options.killAfterMs === undefined ? {} : { killAfterMs: options.killAfterMs }),
    ...(options.onSpawn === undefined ? {} : { onSpawn: options.onSpawn }),
    killTimerFrom: (stream, _chunk, soFar) => stream === 'stderr' && soFar.includes('"pipeline running"'),
  });
}

/** Runs to completion (`--until-caught-up`) and asserts a clean exit. */
export async function runToCompletion(file: string): Promise<ChildExit> {
  const r = await runChild(file, ['--until-caught-up']);
  assert.equal(r.code, 0, `run to completion exited ${r.code ?? r.signal}; stderr:\n${r.stderr.slice(-3000)}`);
  return r;
}

/** The generator's events as JSON lines, by position (1-based index). */
function expectedLines(p: CrashPipeline): string[] {
  const w = new Workload(p.seed, { source: 'shop', database: 'shop', schema: 'public', startMillis: Date.parse('2024-01-01T00:00:00Z') });
  return Array.from({ length: p.count }, () => envelopeToJson(w.next()));
}

/** Checks the stream and the delivered files of a completed run. */
export async function verify(dir: string, p: CrashPipeline): Promise<void> {
  const expected = expectedLines(p);
  // The stream: every position exactly once, per key increasing.
  const log = new EmbeddedStreamLog({ dataDir: dir, logger: silentLogger, retentionIntervalMs: 0 });
  const inStream = new Map<string, number>();
  try {
    const desc = await log.describeStream('changes');
    for (const shard of desc.shards) {
      const lastByKey = new Map<string, string>();
      let from: ShardIterator = { type: 'TRIM_HORIZON' };
      for (;;) {
        const res = await log.read('changes', shard.shardId, from, { maxRecords: 5000 });
        for (const r of res.records) {
          const e = decodeEnvelope(r.data);
          const pos = e.source.position;
          inStream.set(pos, (inStream.get(pos) ?? 0) + 1);
          const prev = lastByKey.get(r.partitionKey);
          assert.ok(prev === undefined || prev < pos, `stream: key ${r.partitionKey} out of order (${prev} then ${pos})`);
          lastByKey.set(r.partitionKey, pos);
          assert.equal(envelopeToJson(e), expected[Number(pos) - 1], `stream: record at position ${pos} differs from the generator's`);
        }
        if (res.records.length === 0 || res.next === null) break;
        from = res.next;
      }
    }
  } finally {
    await log.close();
  }
  const dupStream = [...inStream].filter(([, n]) => n > 1).map(([k]) => k);
  assert.deepEqual(dupStream, [], 'stream: positions appended more than once');
  assert.equal(inStream.size, p.count, `stream: ${p.count - inStream.size} positions missing`);
  // The files: every record exactly once, identical to the generator's, per key in order.
  const root = join(dir, 'files', 'out');
  const seen = new Map<string, number>();
  for (const shard of (await readdir(root)).sort()) {
    const lastByKey = new Map<string, string>();
    let prevLast = -1n;
    for (const f of (await readdir(join(root, shard))).sort()) {
      assert.ok(!f.startsWith('.'), `leftover temp file ${shard}/${f}`);
      const m = /-(\d+)-(\d+)\.jsonl$/.exec(f);
      assert.ok(m !== null, `unexpected file ${f}`);
      assert.ok(BigInt(m[1] as string) > prevLast, `files overlap at ${shard}/${f}`);
      prevLast = BigInt(m[2] as string);
      for (const line of (await readFile(join(root, shard, f), 'utf8')).split('\n')) {
        if (line === '') continue;
        const j = JSON.parse(line) as { source: { position: string; table: string }; key: unknown };
        const pos = j.source.position;
        seen.set(pos, (seen.get(pos) ?? 0) + 1);
        assert.equal(line, expected[Number(pos) - 1], `files: record at position ${pos} differs from the generator's`);
        const k = `${j.source.table}:${JSON.stringify(j.key)}`;
        const prev = lastByKey.get(k);
        assert.ok(prev === undefined || prev < pos, `files: key ${k} out of order`);
        lastByKey.set(k, pos);
      }
    }
  }
  const dupFiles = [...seen].filter(([, n]) => n > 1).map(([k]) => k);
  assert.deepEqual(dupFiles.slice(0, 10), [], `files: ${dupFiles.length} records delivered more than once`);
  assert.equal(seen.size, p.count, `files: ${p.count - seen.size} records missing`);
}
