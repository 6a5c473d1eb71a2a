/**
 * kill -9 tests of the embedded state store: a child commits transactions and is killed at
 * seeded random moments and at named crash points. After each kill the store is reopened in
 * this process: every acknowledged transaction must be there whole, and no transaction may be
 * visible in part. The same data directory carries over from round to round, so recovery from
 * one crash is itself crashed into.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EmbeddedStateStore } from '../../../src/state/embedded/embedded-state-store.ts';

const WRITER = fileURLToPath(new URL('../fixtures/crash-writer.ts', import.meta.url));
const COMPACT_AFTER = 8192;

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface RunResult {
  readonly acked: number[];
  readonly stderr: string;
  readonly signal: NodeJS.Signals | null;
}

/** Runs the writer until `killAfterAcks` acks (then waits `delayMs` and SIGKILLs) or until it dies by itself. */
function runWriter(dataDir: string, firstTx: number, options: { killAfterAcks?: number; delayMs?: number; crashAt?: string }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    delete env['HYDRANT_CRASH_AT'];
    if (options.crashAt !== undefined) env['HYDRANT_CRASH_AT'] = options.crashAt;
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dataDir, String(firstTx), String(COMPACT_AFTER)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const acked: number[] = [];
    let out = '';
    let stderr = '';
    let killing = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const lines = out.split('\n');
      out = lines.pop() ?? '';
      for (const l of lines) if (l.startsWith('ACK ')) acked.push(Number(l.slice(4)));
      if (!killing && options.killAfterAcks !== undefined && acked.length >= options.killAfterAcks) {
        killing = true;
        setTimeout(() => child.kill('SIGKILL'), options.delayMs ?? 0);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (_code, signal) => resolve({ acked, stderr, signal }));
  });
}

/** Reopens the store and checks the invariants; returns the highest transaction seen. */
async function verify(dataDir: string, acked: readonly number[], label: string): Promise<number> {
  const store = await EmbeddedStateStore.open({ dataDir });
  try {
    const byTx = new Map<number, string[]>();
    for (const { key, value } of await store.list('tx/')) {
      const [, n, part] = key.split('/');
      assert.equal((value as { i: number }).i, Number(n), `${label}: ${key} holds another transaction's value`);
      byTx.set(Number(n), [...(byTx.get(Number(n)) ?? []), part as string]);
    }
    for (const [n, parts] of byTx) assert.deepEqual(parts.sort(), ['a', 'b', 'c'], `${label}: transaction ${n} is only partly visible`);
    for (const n of acked) assert.ok(byTx.has(n), `${label}: acknowledged transaction ${n} was lost`);
    return Math.max(-1, ...byTx.keys());
  } finally {
    await store.close();
  }
}

test('embedded state store: kill -9 at seeded random moments loses no acknowledged transaction', async () => {
  const seed = Number(process.env['HYDRANT_TEST_SEED'] ?? Date.now() % 1_000_000);
  console.log(`crash test seed ${seed} (rerun with HYDRANT_TEST_SEED=${seed})`);
  const rand = prng(seed);
  const dataDir = await mkdtemp(join(tmpdir(), 'hydrant-state-crash-'));
  try {
    let next = 0;
    let total = 0;
    for (let round = 0; round < 6; round++) {
      const killAfterAcks = 1 + Math.floor(rand() * 300);
      const delayMs = Math.floor(rand() * 15);
      const r = await runWriter(dataDir, next, { killAfterAcks, delayMs });
      assert.equal(r.signal, 'SIGKILL', `round ${round}: writer ended without being killed: ${r.stderr}`);
      assert.ok(r.acked.length >= killAfterAcks, `round ${round}: writer died before ${killAfterAcks} acks: ${r.stderr}`);
      total += r.acked.length;
      next = (await verify(dataDir, r.acked, `seed ${seed} round ${round}`)) + 1;
    }
    assert.ok(total > 6);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('embedded state store: kill -9 at every named crash point loses no acknowledged transaction', async () => {
  const seed = Number(process.env['HYDRANT_TEST_SEED'] ?? Date.now() % 1_000_000);
  console.log(`crash point test seed ${seed} (rerun with HYDRANT_TEST_SEED=${seed})`);
  const rand = prng(seed);
  const points = ['state.after-write-before-fsync', 'state.after-fsync-before-ack', 'state.compaction.after-rotate', 'state.snapshot.before-rename', 'state.compaction.after-snapshot'];
  const dataDir = await mkdtemp(join(tmpdir(), 'hydrant-state-crash-'));
  try {
    let next = 0;
    for (const point of points) {
      const nth = point.startsWith('state.after') ? 1 + Math.floor(rand() * 100) : 1 + Math.floor(rand() * 3);
      const r = await runWriter(dataDir, next, { crashAt: `${point}:${nth}` });
      assert.equal(r.signal, 'SIGKILL', `${point}: writer was not killed: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`HYDRANT CRASH POINT ${point.replace(/\./g, '\\.')}\\n`));
      next = (await verify(dataDir, r.acked, `seed ${seed} ${point}:${nth}`)) + 1;
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
