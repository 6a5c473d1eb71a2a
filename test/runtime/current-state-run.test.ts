/**
 * Current-state merging inside `hydrant run` (`current_state.enabled`): the tables a run leaves
 * behind are compared with an independent replay of the deterministic generator's events.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../../src/core/logger.ts';
import { changeEntries } from '../../src/lake/current/merge-job.ts';
import { EmbeddedStateStore } from '../../src/state/embedded/embedded-state-store.ts';
import { canonRows } from '../lake/current/compare.ts';
import { readStoredTables, replayGenerator, writeMergePipeline } from './current-state-support.ts';

const BIN = fileURLToPath(new URL('../../bin/hydrant.js', import.meta.url));
const SEED = Number(process.env['HYDRANT_TEST_SEED'] ?? 20261122);
console.log(`current-state run test seed=${SEED} (HYDRANT_TEST_SEED reruns it)`);
const TABLES = ['customers', 'order_items', 'orders', 'products'];

function env(level: string): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, HYDRANT_LOG_LEVEL: level };
  delete e['HYDRANT_CRASH_AT'];
  return e;
}

test('hydrant run --until-caught-up with current_state on: every table equals a replay of the generator, also after a second, longer run', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hydrant-current-run-'));
  try {
    for (const count of [2500, 4000]) {
      // A short interval, so rounds also run while the changes arrive; the final one completes them.
      const file = await writeMergePipeline(dir, { seed: SEED, count, interval: '200ms' });
      const r = spawnSync(process.execPath, [BIN, 'run', file, '--until-caught-up'], { encoding: 'utf8', env: env('warn') });
      assert.equal(r.status, 0, r.stderr.slice(-3000));
      assert.match(r.stdout, /caught-up/);
      assert.match(r.stdout, /^current-state tables:$/m);
      for (const t of TABLES) assert.match(r.stdout, new RegExp(`^  shop\\.public\\.${t}: (version \\d+, \\d+ rows|up to date)`, 'm'));
      const stored = await readStoredTables(join(dir, 'data'));
      assert.deepEqual([...stored.keys()].sort(), TABLES);
      const expected = replayGenerator(SEED, count, new Map([...stored].map(([t, s]) => [t, s.schema])));
      for (const [t, s] of stored) {
        assert.ok(s.rows.length > 0, `${t} has rows`);
        assert.equal(s.manifest.rows, s.rows.length, `${t}: manifest row count`);
        assert.deepEqual(s.rows.length, expected.get(t)?.length, `${t}: row count equals the replay`);
        assert.deepEqual(canonRows(s.rows, s.schema), expected.get(t), `${t}: rows equal the replay of ${count} generator events`);
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('SIGTERM while merging on an interval: exit 0, merge metrics on /metrics, every table equals a replay of exactly the changes it merged; hydrant merge then completes it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hydrant-current-run-'));
  try {
    // Endless and rate-limited: only the signal ends it. Rounds run back to back (100 ms apart),
    // so the signal lands while a merge is in progress most of the time.
    const file = await writeMergePipeline(dir, { seed: SEED, count: 0, rate: 3000, interval: '100ms' });
    const child = spawn(process.execPath, [BIN, 'run', file, '--metrics-port', '0'], { env: env('info'), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        const m = /"url":"(http:\/\/127\.0\.0\.1:\d+\/metrics)"/.exec(stderr);
        if (m !== null) resolve(m[1] as string);
      });
      void exited.then(() => reject(new Error(`child exited before serving metrics:\n${stderr}`)));
    });
    // Wait (no time limit asserted) until orders has been merged at least twice.
    let text = '';
    for (;;) {
      text = await (await fetch(url)).text();
      const v = /^hydrant_current_version\{table="shop\.public\.orders"\} (\d+)$/m.exec(text);
      if (v !== null && Number(v[1]) >= 2) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(text, /^hydrant_merge_changes_total\{table="shop\.public\.orders"\} [1-9]\d*$/m);
    assert.match(text, /^hydrant_current_rows\{table="shop\.public\.customers"\} \d+$/m);
    assert.match(text, /^hydrant_merge_lag_seconds\{table="shop\.public\.orders"\} [\d.e+-]+$/m);
    assert.match(text, /^hydrant_merge_rounds_total\{outcome="ok"\} [1-9]\d*$/m);
    // Capture goes on while merging.
    assert.match(text, /^hydrant_delivery_commits_total\{delivery="lake"\} [1-9]\d*$/m);
    // Signal right after a round merged a table other than the last (products): the round is then merging the next ones.
    const seen = stderr.length;
    await new Promise<void>((resolve) => {
      const check = (): void => {
        if (/"msg":"current-state table merged"[^\n]*"table":"shop\.public\.(customers|order_items|orders)"/.test(stderr.slice(seen))) {
          child.stderr.off('data', check);
          resolve();
        }
      };
      child.stderr.on('data', check);
      check();
    });
    child.kill('SIGTERM');
    const ex = await exited;
    assert.equal(ex.code, 0, `exit ${ex.code ?? ex.signal}\n${stderr.slice(-3000)}`);
    assert.match(stderr, /SIGTERM received: stopping gracefully/);
    assert.match(stderr, /"msg":"current-state table merged"/);
    assert.doesNotMatch(stderr, /"level":"error"/);

    // Consistent: each table is exactly the replay of the changes in the objects it says it merged.
    const dataDir = join(dir, 'data');
    let stored = await readStoredTables(dataDir);
    assert.deepEqual([...stored.keys()].sort(), TABLES);
    const schemas = new Map([...stored].map(([t, s]) => [t, s.schema]));
    const state = await EmbeddedStateStore.open({ dataDir, logger: silentLogger });
    let appended: number;
    try {
      appended = Number(await state.get('sources/shop/position'));
    } finally {
      await state.close();
    }
    assert.ok(appended > 0);
    for (const [t, s] of stored) {
      assert.ok(s.mergedPositions.size > 0, `${t}: merged something`);
      const expected = replayGenerator(SEED, appended, schemas, (e) => e.source.table === t && s.mergedPositions.has(e.source.position));
      assert.deepEqual(canonRows(s.rows, s.schema), expected.get(t), `${t}: rows equal the replay of the ${s.mergedPositions.size} changes merged`);
    }

    // The run released the data dir, and what it delivered after the last round merges now:
    // every table then equals the replay of every appended event.
    const m = spawnSync(process.execPath, [BIN, 'merge', file], { encoding: 'utf8', env: env('warn') });
    assert.equal(m.status, 0, m.stderr.slice(-3000));
    stored = await readStoredTables(dataDir);
    const all = replayGenerator(SEED, appended, schemas);
    for (const [t, s] of stored) assert.deepEqual(canonRows(s.rows, s.schema), all.get(t), `${t}: after hydrant merge, rows equal the replay of all ${appended} appended events`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('kill -9 inside a merge of hydrant run (after its files are written; after its manifest commit), then a rerun: every table equals a replay of the generator', async () => {
  for (const point of ['current.merge.files-written', 'current.merge.manifest-committed']) {
    const dir = await mkdtemp(join(tmpdir(), 'hydrant-current-run-'));
    try {
      const count = 2500;
      const file = await writeMergePipeline(dir, { seed: SEED, count, interval: '200ms' });
      // The second merge of the run dies (the first may be the round at start, with nothing to merge).
      const killed = spawnSync(process.execPath, [BIN, 'run', file, '--until-caught-up'], { encoding: 'utf8', env: { ...env('warn'), HYDRANT_CRASH_AT: `${point}:2` } });
      assert.equal(killed.signal, 'SIGKILL', `${point}: killed (exit ${killed.status})\n${killed.stderr.slice(-2000)}`);
      assert.match(killed.stderr, new RegExp(`HYDRANT CRASH POINT ${point.replace(/\./g, '\\.')}`));
      const r = spawnSync(process.execPath, [BIN, 'run', file, '--until-caught-up'], { encoding: 'utf8', env: env('warn') });
      assert.equal(r.status, 0, r.stderr.slice(-3000));
      const stored = await readStoredTables(join(dir, 'data'));
      assert.deepEqual([...stored.keys()].sort(), TABLES);
      const expected = replayGenerator(SEED, count, new Map([...stored].map(([t, s]) => [t, s.schema])));
      for (const [t, s] of stored) assert.deepEqual(canonRows(s.rows, s.schema), expected.get(t), `${point}, ${t}: rows equal the replay after the rerun`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
});

test('a final merge that keeps failing: hydrant run still delivers everything, names the table, says how to retry, exits 1; the other tables are merged', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hydrant-current-run-'));
  try {
    const count = 1500;
    const file = await writeMergePipeline(dir, { seed: SEED, count, interval: '1h' });
    // First run without merging, then lose one change object of orders from the lake.
    await writeFile(file, (await readFile(file, 'utf8')).replace('enabled: true', 'enabled: false'));
    let r = spawnSync(process.execPath, [BIN, 'run', file, '--until-caught-up'], { encoding: 'utf8', env: env('warn') });
    assert.equal(r.status, 0, r.stderr.slice(-3000));
    const state = await EmbeddedStateStore.open({ dataDir: join(dir, 'data'), logger: silentLogger });
    let lost: string;
    try {
      lost = (await changeEntries(state)).find((e) => e.object.table === 'shop.public.orders')?.object.key as string;
    } finally {
      await state.close();
    }
    await unlink(join(dir, 'data', 'lake', lost));
    await writeFile(file, (await readFile(file, 'utf8')).replace('enabled: false', 'enabled: true'));
    r = spawnSync(process.execPath, [BIN, 'run', file, '--until-caught-up'], { encoding: 'utf8', env: env('warn') });
    assert.equal(r.status, 1, `exit ${r.status}\n${r.stdout}\n${r.stderr.slice(-3000)}`);
    assert.match(r.stdout, /caught-up; positions \{"shop":"0000000000001500"\}/);
    // The failure, on one line, names the missing object; the other tables were merged (by the round at start or the final one).
    assert.match(r.stdout, new RegExp(`^  shop\\.public\\.orders: .*${lost.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*\n  shop\\.public\\.products: `, 'm'));
    assert.match(r.stdout, /^  shop\.public\.customers: (version 1, \d+ rows|up to date)/m);
    assert.match(r.stderr, /final merge: 1 table\(s\) failed; retrying in \d+ ms/);
    assert.match(r.stderr, /capture and delivery finished, but the final merge of shop\.public\.orders failed \(see above\); run `hydrant merge .*pipeline\.yaml` to retry it/);
    const stored = await readStoredTables(join(dir, 'data'));
    assert.deepEqual([...stored.keys()].sort(), ['customers', 'order_items', 'products']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
