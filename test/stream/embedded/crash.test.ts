/**
 * Crash safety of the embedded log: a child process appends and prints acknowledgements; it
 * is SIGKILLed at seeded random moments and at named crash points (write done but not
 * fsync'd; fsync'd but not acknowledged). After every kill the log is reopened and every
 * acknowledged record must be present exactly once, in order, and appends must continue.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { EmbeddedStreamLog } from '../../../src/stream/embedded/embedded-stream-log.ts';
import type { StreamRecord } from '../../../src/stream/stream-log.ts';
import { readAll } from '../stream-log-conformance.ts';

const child = fileURLToPath(new URL('../fixtures/append-child.ts', import.meta.url));
const seed = Number(process.env['HYDRANT_TEST_SEED'] ?? Date.now() % 100_000);
let state = seed >>> 0;
const rand = (): number => {
  state = (state * 1103515245 + 12345) >>> 0;
  return state / 2 ** 32;
};

interface Ack {
  readonly shardId: string;
  readonly sequence: string;
  readonly payload: string;
}

/** Runs the child until it has acknowledged `killAfterAcks` records (then SIGKILL) or dies by itself. */
function runChild(dataDir: string, runId: string, env: Record<string, string>, killAfterAcks: number | undefined): Promise<{ acks: Ack[]; stderr: string; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', child, dataDir, runId, String(Math.floor(rand() * 1e9))], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const acks: Ack[] = [];
    let out = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const lines = out.split('\n');
      out = lines.pop() ?? '';
      for (const l of lines) {
        const [tag, shardId, sequence, payload] = l.split(' ');
        if (tag === 'ACK') acks.push({ shardId: shardId!, sequence: sequence!, payload: payload! });
      }
      if (killAfterAcks !== undefined && acks.length >= killAfterAcks) p.kill('SIGKILL');
    });
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('close', (_code, signal) => resolve({ acks, stderr, signal }));
  });
}

async function verify(dataDir: string, acked: readonly Ack[]): Promise<number> {
  const log = new EmbeddedStreamLog({ dataDir, retentionIntervalMs: 0, segmentBytes: 8192, indexIntervalBytes: 512 });
  try {
    const d = await log.describeStream('crash');
    const records: StreamRecord[] = [];
    for (const s of d.shards) {
      const recs = await readAll(log, 'crash', s.shardId);
      for (let i = 1; i < recs.length; i++) assert.equal(Number(recs[i]!.sequence), Number(recs[i - 1]!.sequence) + 1, `shard ${s.shardId}: sequences without gaps or repeats`);
      records.push(...recs);
    }
    const byPayload = new Map<string, StreamRecord[]>();
    for (const r of records) {
      const k = Buffer.from(r.data).toString();
      byPayload.set(k, [...(byPayload.get(k) ?? []), r]);
    }
    for (const a of acked) {
      const found = byPayload.get(a.payload) ?? [];
      assert.equal(found.length, 1, `acknowledged record ${a.payload} must be present exactly once (seed ${seed})`);
      assert.equal(found[0]!.shardId, a.shardId);
      assert.equal(found[0]!.sequence, a.sequence);
    }
    // Each producer's records (acknowledged or not) appear in the order it sent them.
    const last = new Map<string, number>();
    for (const r of records.sort((x, y) => (x.shardId === y.shardId ? Number(x.sequence) - Number(y.sequence) : x.shardId < y.shardId ? -1 : 1))) {
      const [run, p, n] = Buffer.from(r.data).toString().split('.');
      const key = `${run}.${p}.${r.partitionKey}`;
      assert.ok((last.get(key) ?? -1) < Number(n), `order of ${key} (seed ${seed})`);
      last.set(key, Number(n));
    }
    return records.length;
  } finally {
    await log.close();
  }
}

test(`kill -9 at random moments and at crash points loses no acknowledged record (seed ${seed})`, async () => {
  console.log(`crash test seed ${seed} (rerun with HYDRANT_TEST_SEED=${seed})`);
  const dataDir = await mkdtemp(join(tmpdir(), 'hydrant-log-crash-'));
  try {
    const acked: Ack[] = [];
    const rounds: Array<{ env: Record<string, string>; kill?: number; point?: string }> = [
      ...Array.from({ length: 5 }, () => ({ env: {}, kill: 1 + Math.floor(rand() * 400) })),
      ...['log.after-write-before-fsync', 'log.after-fsync-before-ack', 'log.after-seal-before-roll'].map((point) => ({ env: { HYDRANT_CRASH_AT: `${point}:${2 + Math.floor(rand() * (point.includes('roll') ? 5 : 30))}` }, point })),
      { env: {}, kill: 1 + Math.floor(rand() * 400) },
    ];
    let runNo = 0;
    for (const round of rounds) {
      const r = await runChild(dataDir, `r${runNo++}`, round.env, round.kill);
      assert.equal(r.signal, 'SIGKILL', `child must die by SIGKILL; stderr: ${r.stderr.slice(0, 2000)}`);
      if (round.point !== undefined) assert.ok(r.stderr.includes(`HYDRANT CRASH POINT ${round.point}`), `crash point ${round.point} was reached; stderr: ${r.stderr.slice(0, 2000)}`);
      acked.push(...r.acks);
      const stored = await verify(dataDir, acked);
      assert.ok(stored >= acked.length);
    }
    assert.ok(acked.length > 0, 'the child acknowledged records');
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
