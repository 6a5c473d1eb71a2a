/**
 * kill -9 tests of the embedded state store: a child commits transactions and is killed at
 * seeded random moments and at named crash points. After each kill the store is reopened in
 * this process: every acknowledged transaction must be there whole, and no transaction may be
 * visible in part. The same data directory carries over from round to round, so recovery from
 * one crash is itself crashed into.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EmbeddedStateStore } from '../../../src/state/embedded/embedded-state-store.ts';
import { runNode } from '../../support/child-process.ts';
import { prng } from '../../support/prng.ts';

const WRITER = fileURLToPath(new URL('../fixtures/crash-writer.ts', import.meta.url));
const COMPACT_AFTER = 8192;

interface RunResult {
  readonly acked: number[];
  readonly stderr: string;
  readonly signal: NodeJS.Signals | null;
}

/** Runs the writer until `killAfterAcks` acks (then waits `delayMs` and SIGKILLs) or until it dies by itself. */
async function runWriter(dataDir: string, firstTx: number, options: { killAfterAcks?: number; delayMs?: number; crashAt?: string }): Promise<RunResult> {
  const env = { ...process.env };
  delete env['HYDRANT_CRASH_AT'];
  if (options.crashAt !== undefined) env['HYDRANT_CRASH_AT'] = options.crashAt;
  const { killAfterAcks } = options;
  const r = await runNode(['--import', 'tsx', WRITER, dataDir, String(firstTx), String(COMPACT_AFTER)], {
    env,
    ...(killAfterAcks === undefined ? {} : { killAfterMs: options.delayMs ?? 0 }),
    // Only whole "ACK n" lines count, as they do in `acked` below.
    killTimerFrom: (stream, _chunk, soFar) => {
      if (stream !== 'stdout' || killAfterAcks === undefined) return false;
      return completeLines(soFar).filter((l) => l.startsWith('ACK ')).length >= killAfterAcks;
    },
  });
  const acked = completeLines(r.stdout).filter((l) => l.startsWith('ACK ')).map((l) => Number(l.slice(4)));
  return { acked, stderr: r.stderr, signal: r.signal };
}

/** The lines of `text` that a newline ends (a line cut by a kill is left out). */
function completeLines(text: string): string[] {
  return text.split('\n').slice(0, -1);
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
