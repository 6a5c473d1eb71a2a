import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../../src/core/logger.ts';
import { EmbeddedStateStore } from '../../src/state/embedded/embedded-state-store.ts';
import { runToCompletion, verify, writePipeline } from '../crash/crash-support.ts';

const BIN = fileURLToPath(new URL('../../bin/hydrant.js', import.meta.url));
const SEED = 31337;
console.log(`run command test seed=${SEED}`);

test('hydrant run --until-caught-up exits 0 with everything delivered exactly once', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hydrant-run-'));
  try {
    const p = { seed: SEED, count: 2500 };
    const r = await runToCompletion(await writePipeline(dir, p));
    assert.match(r.stdout, /caught-up/);
    await verify(dir, p);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('SIGTERM: graceful stop exits 0, position and checkpoints committed, every appended record delivered; /metrics serves Prometheus text', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hydrant-run-'));
  try {
    // An endless, rate-limited workload: only a signal ends this run.
    const file = await writePipeline(dir, { seed: SEED, count: 0, rate: 2000 });
    const child = spawn(process.execPath, [BIN, 'run', file, '--metrics-port', '0'], { env: { ...process.env, HYDRANT_LOG_LEVEL: 'info', HYDRANT_CRASH_AT: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
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
    // Wait (no time limit asserted) until files have been committed, as the metrics report.
    let text = '';
    for (;;) {
      text = await (await fetch(url)).text();
      if (/^hydrant_delivery_commits_total\{delivery="out"\} [1-9]/m.test(text)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(text, /^# TYPE hydrant_source_records_total counter$/m);
    assert.match(text, /^hydrant_source_records_total\{source="shop",table="orders"\} \d+$/m);
    assert.match(text, /^hydrant_source_bytes_total\{source="shop"\} \d+$/m);
    assert.match(text, /^hydrant_delivery_records_total\{delivery="out",table="customers"\} \d+$/m);
    assert.match(text, /^hydrant_stream_fsyncs \d+$/m);
    assert.match(text, /^hydrant_stream_consumer_lag_records\{stream="changes",consumer="out",shard="[^"]+"\} \d+$/m);
    assert.match(text, /^hydrant_stream_consumer_lag_ms\{stream="changes",consumer="out",shard="[^"]+"\} \d+$/m);
    assert.equal((await fetch(url.replace('/metrics', '/nope'))).status, 404);
    child.kill('SIGTERM');
    const ex = await exited;
    assert.equal(ex.code, 0, `exit ${ex.code ?? ex.signal}\n${stderr.slice(-2000)}`);
    assert.match(stderr, /SIGTERM received: stopping gracefully/);

    const st = await EmbeddedStateStore.open({ dataDir: dir, logger: silentLogger });
    let position: number;
    const checkpoints = new Map<string, string>();
    try {
      position = Number(await st.get('sources/shop/position'));
      for (const { key, value } of await st.list('consumers/changes/out/')) checkpoints.set(key.split('/').pop() as string, value as string);
    } finally {
      await st.close();
    }
    assert.ok(position > 0);
    // Every appended position 1..P is in the files exactly once, and each shard's checkpoint is
    // the last sequence of its last file (nothing buffered was left behind).
    const root = join(dir, 'files', 'out');
    const seen = new Set<number>();
    let lines = 0;
    for (const shard of await readdir(root)) {
      const files = (await readdir(join(root, shard))).sort();
      const last = files[files.length - 1];
      if (last !== undefined) assert.equal(BigInt(/-(\d+)\.jsonl$/.exec(last)![1]!), BigInt(checkpoints.get(shard)!), `checkpoint of ${shard}`);
      for (const f of files) {
        for (const line of (await readFile(join(root, shard, f), 'utf8')).split('\n')) {
          if (line === '') continue;
          lines++;
          seen.add(Number((JSON.parse(line) as { source: { position: string } }).source.position));
        }
      }
    }
    assert.equal(lines, position, 'no duplicates');
    assert.equal(seen.size, position);
    assert.equal(Math.max(...seen), position);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a restart after SIGTERM continues where the stop left off (until caught up)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hydrant-run-'));
  try {
    const p = { seed: SEED, count: 6000, rate: 3000 };
    const file = await writePipeline(dir, p);
    const child = spawn(process.execPath, [BIN, 'run', file], { env: { ...process.env, HYDRANT_LOG_LEVEL: 'info' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    await new Promise<void>((resolve) => child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes('recorded table schemas')) resolve();
    }));
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    assert.equal(code, 0);
    await runToCompletion(file);
    await verify(dir, p);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
