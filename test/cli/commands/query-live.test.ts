/**
 * Looking at the lake while it fills: `hydrant tables`, `hydrant query` and `hydrant stream
 * describe` against the data_dir of a `hydrant run` child that is still running (and holds the
 * state store's lock) open the state store read-only, return rows, and leave the pipeline
 * running; it then stops cleanly on SIGTERM and its state reopens normally with more data.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedStateStore } from '../../../src/state/embedded/embedded-state-store.ts';
import { StateLockedError } from '../../../src/state/errors.ts';

const BIN = join(import.meta.dirname, '../../../bin/hydrant.js');
const ENV = { ...process.env, HYDRANT_LOG_LEVEL: 'warn', HYDRANT_CRASH_AT: '' };

function hydrant(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: ENV });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function jsonLines(out: string): Array<Record<string, unknown>> {
  return out.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
}

test('hydrant tables / query / stream describe read the lake while hydrant run is running', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hydrant-query-live-'));
  const file = join(dir, 'pipeline.yaml');
  writeFileSync(file, `name: live
data_dir: data
lake: { type: fs, path: lake }
streams: { changes: { shards: 2 } }
sources:
  shop: { type: generator, stream: changes, seed: 3, count: 0, rate: 400, batch_size: 100 }
deliveries:
  lake: { type: lake, stream: changes, format: parquet, buffer_interval_s: 1 }
`);
  const child = spawn(process.execPath, [BIN, 'run', file], { env: ENV, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  // Wait (bounded by a number of polls, not a time limit) until the pipeline committed objects.
  let tables: Array<Record<string, unknown>> = [];
  for (let poll = 0; poll < 300; poll++) {
    assert.equal(child.exitCode, null, `hydrant run exited early: ${stderr}`);
    const r = hydrant('tables', file, '--format', 'json');
    assert.equal(r.code, 0, `hydrant tables beside a running pipeline: ${r.err}`);
    tables = jsonLines(r.out);
    if (tables.some((x) => x['table'] === 'shop.public.orders' && Number(x['objects']) > 0)) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.ok(tables.some((x) => x['table'] === 'shop.public.orders'), `the lake got the orders table while running: ${JSON.stringify(tables)}`);
  // The pipeline really holds the state store: a writing open is refused.
  await assert.rejects(EmbeddedStateStore.open({ dataDir: join(dir, 'data') }), StateLockedError);

  const q = hydrant('query', file, 'select count(*) as n from shop.public.orders_changes', '--format', 'json');
  assert.equal(q.code, 0, `hydrant query beside a running pipeline: ${q.err}`);
  const during = Number(jsonLines(q.out)[0]?.['n']);
  assert.ok(during > 0, `rows while running: ${q.out}`);

  const d = hydrant('stream', 'describe', file, 'changes', '--json');
  assert.equal(d.code, 0, d.err);
  const described = JSON.parse(d.out) as { consumers: Array<{ consumer: string }>; consumersUnavailable?: string };
  assert.equal(described.consumersUnavailable, undefined);
  assert.ok(described.consumers.length > 0, `consumers of the running pipeline: ${d.out}`);

  assert.equal(child.exitCode, null, 'the pipeline is still running after the reads');
  child.kill('SIGTERM');
  assert.equal(await exited, 0, `graceful stop: ${stderr}`);

  // The writer's state reopens normally and holds at least what the reads saw.
  const state = await EmbeddedStateStore.open({ dataDir: join(dir, 'data') });
  await state.commit([{ type: 'put', key: 'test/after', value: true }]);
  await state.close();
  const after = hydrant('query', file, 'select count(*) as n from shop.public.orders_changes', '--format', 'json');
  assert.equal(after.code, 0, after.err);
  assert.ok(Number(jsonLines(after.out)[0]?.['n']) >= during, `rows after stop ${after.out} ≥ rows during ${during}`);
});
