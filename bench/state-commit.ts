/**
 * Embedded state store commits against the physical limit of the same disk: one small
 * `write` + `fdatasync` per commit, measured in the same run. Serial commits should come close
 * to that limit; concurrent commits should beat it by sharing fsyncs (group commit). Also
 * reports reopen (snapshot load + journal replay) time for the keys written.
 */
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { Benchmark, BenchRow } from './harness.ts';
import { EmbeddedStateStore } from '../src/state/embedded/embedded-state-store.ts';

async function rawFsyncRate(path: string, n: number): Promise<number> {
  const fh = await open(path, 'w');
  const buf = Buffer.alloc(120, 'x');
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    await fh.write(buf, 0, buf.length, i * buf.length);
    await fh.datasync();
  }
  const secs = (performance.now() - t0) / 1000;
  await fh.close();
  return n / secs;
}

function tx(i: number): Array<{ type: 'put'; key: string; value: { sequence: string; at: number } }> {
  return [
    { type: 'put', key: `consumers/orders/lake/shard-${String(i % 8).padStart(6, '0')}`, value: { sequence: String(1_000_000 + i), at: i } },
    { type: 'put', key: `catalog/orders/${String(i).padStart(10, '0')}`, value: { sequence: String(i), at: i } },
  ];
}

export const bench: Benchmark = {
  name: 'state-commit',
  summary: 'embedded state store commits/s vs raw write+fdatasync on the same disk',
  async run({ smoke, n, workDir }) {
    const count = n ?? (smoke ? 200 : 3000);
    const raw = await rawFsyncRate(join(workDir, 'raw.bin'), count);

    const dataDir = join(workDir, 'data');
    let store = await EmbeddedStateStore.open({ dataDir });
    let t0 = performance.now();
    for (let i = 0; i < count; i++) await store.commit(tx(i));
    const serial = count / ((performance.now() - t0) / 1000);

    const inFlight = 64;
    const before = store.stats();
    t0 = performance.now();
    let next = count;
    const end = count * 5;
    await Promise.all(Array.from({ length: inFlight }, async () => {
      while (next < end) await store.commit(tx(next++));
    }));
    const concurrent = (end - count) / ((performance.now() - t0) / 1000);
    const after = store.stats();
    const perFsync = (after.commits - before.commits) / (after.fsyncs - before.fsyncs);
    await store.close();

    t0 = performance.now();
    store = await EmbeddedStateStore.open({ dataDir });
    const reopenMs = performance.now() - t0;
    const keys = (await store.list('catalog/')).length;
    await store.close();

    const rows: BenchRow[] = [
      { name: 'raw write+fdatasync (limit)', value: raw, unit: 'ops/s', note: `${count} x 120 B` },
      { name: 'hydrant commit, serial', value: serial, unit: 'commits/s', note: '2 keys each' },
      { name: `hydrant commit, ${inFlight} in flight`, value: concurrent, unit: 'commits/s', note: `${perFsync.toFixed(1)} commits per fsync` },
      { name: 'hydrant reopen', value: reopenMs, unit: 'ms', note: `${keys} catalog keys, snapshot + journal replay` },
    ];
    return { rows, ratios: [{ name: 'serial vs raw', value: serial / raw }, { name: 'concurrent vs raw', value: concurrent / raw }] };
  },
};
