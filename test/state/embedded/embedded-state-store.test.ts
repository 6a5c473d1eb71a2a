import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { appendFile, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CorruptionError } from '../../../src/core/errors.ts';
import { createLogger } from '../../../src/core/logger.ts';
import { StateLockedError, StateUnavailableError } from '../../../src/state/errors.ts';
import { EmbeddedStateStore } from '../../../src/state/embedded/embedded-state-store.ts';
import { encodeFrame } from '../../../src/state/embedded/frame.ts';
import { journalName } from '../../../src/state/embedded/files.ts';

async function withDir(body: (dataDir: string) => Promise<void>): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'hydrant-state-'));
  try {
    await body(dataDir);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

const journal0 = (dataDir: string): string => join(dataDir, 'state', journalName(0));

test('a second open of the same data_dir fails with a message naming the live owner', () =>
  withDir(async (dataDir) => {
    const s = await EmbeddedStateStore.open({ dataDir });
    try {
      await assert.rejects(EmbeddedStateStore.open({ dataDir }), (err: unknown) => err instanceof StateLockedError && err.message.includes(`live process ${process.pid}`) && err.message.includes('data_dir'));
    } finally {
      await s.close();
    }
    const again = await EmbeddedStateStore.open({ dataDir });
    await again.close();
  }));

test('a lock left by a dead process is taken over with a warning; another host is respected', () =>
  withDir(async (dataDir) => {
    await (await EmbeddedStateStore.open({ dataDir })).close();
    const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const deadPid = Number(child.stdout);
    const lock = join(dataDir, 'state', 'LOCK');
    await writeFile(lock, JSON.stringify({ pid: deadPid, host: hostname(), since: 'then' }));
    const lines: string[] = [];
    const s = await EmbeddedStateStore.open({ dataDir, logger: createLogger({ sink: (l) => lines.push(l) }) });
    assert.ok(lines.some((l) => l.includes('stale state lock')));
    assert.equal(JSON.parse(await readFile(lock, 'utf8')).pid, process.pid);
    await s.close();
    await writeFile(lock, JSON.stringify({ pid: process.pid, host: 'elsewhere.example', since: 'then' }));
    await assert.rejects(EmbeddedStateStore.open({ dataDir }), /host elsewhere\.example/);
  }));

test('a torn tail is cut with a warning and earlier commits survive', () =>
  withDir(async (dataDir) => {
    const s = await EmbeddedStateStore.open({ dataDir });
    await s.commit([{ type: 'put', key: 'a', value: 1 }]);
    await s.commit([{ type: 'put', key: 'b', value: 2 }]);
    await s.close();
    const whole = (await stat(journal0(dataDir))).size;
    const next = encodeFrame([{ type: 'put', key: 'c', value: 3 }]);
    await appendFile(journal0(dataDir), next.subarray(0, next.length - 3));
    const lines: string[] = [];
    const t = await EmbeddedStateStore.open({ dataDir, logger: createLogger({ sink: (l) => lines.push(l) }) });
    assert.ok(lines.some((l) => l.includes('torn tail')), lines.join('\n'));
    assert.equal((await stat(journal0(dataDir))).size, whole);
    assert.deepEqual(await t.list(''), [{ key: 'a', value: 1 }, { key: 'b', value: 2 }]);
    await t.commit([{ type: 'put', key: 'd', value: 4 }]);
    await t.close();
    const u = await EmbeddedStateStore.open({ dataDir });
    assert.deepEqual((await u.list('')).map((e) => e.key), ['a', 'b', 'd']);
    await u.close();
  }));

test('a zero-filled tail (blocks allocated, never written) counts as torn', () =>
  withDir(async (dataDir) => {
    const s = await EmbeddedStateStore.open({ dataDir });
    await s.commit([{ type: 'put', key: 'a', value: 1 }]);
    await s.close();
    await appendFile(journal0(dataDir), Buffer.alloc(4096));
    const t = await EmbeddedStateStore.open({ dataDir });
    assert.equal(await t.get('a'), 1);
    await t.close();
  }));

test('a bad checksum before the tail is a CorruptionError, never a silent cut', () =>
  withDir(async (dataDir) => {
    const s = await EmbeddedStateStore.open({ dataDir });
    await s.commit([{ type: 'put', key: 'first', value: 'aaaaaaaa' }]);
    await s.commit([{ type: 'put', key: 'second', value: 'bbbbbbbb' }]);
    await s.close();
    const buf = await readFile(journal0(dataDir));
    const at = buf.indexOf('aaaaaaaa');
    buf[at] = 'z'.charCodeAt(0);
    await writeFile(journal0(dataDir), buf);
    await assert.rejects(EmbeddedStateStore.open({ dataDir }), (err: unknown) => err instanceof CorruptionError && err.message.includes('checksum') && err.message.includes(journal0(dataDir)));
    // The failed open released its lock.
    await assert.rejects(EmbeddedStateStore.open({ dataDir }), CorruptionError);
  }));

test('files of another format version are refused with a clear message', () =>
  withDir(async (dataDir) => {
    await (await EmbeddedStateStore.open({ dataDir })).close();
    await writeFile(journal0(dataDir), encodeFrame({ format: 'hydrant-state-journal', version: 99, generation: 0 }));
    await assert.rejects(EmbeddedStateStore.open({ dataDir }), /format version 99/);
  }));

test('compaction leaves one snapshot and one journal and keeps every key', () =>
  withDir(async (dataDir) => {
    const s = await EmbeddedStateStore.open({ dataDir, compactAfterBytes: 2048 });
    for (let i = 0; i < 300; i++) {
      await s.commit([{ type: 'put', key: `k/${String(i).padStart(4, '0')}`, value: { i } }, ...(i % 3 === 0 ? [{ type: 'delete' as const, key: `k/${String(i - 1).padStart(4, '0')}` }] : [])]);
    }
    assert.ok(s.stats().compactions > 5, `compactions: ${s.stats().compactions}`);
    await s.close();
    const files = (await readdir(join(dataDir, 'state'))).sort();
    assert.equal(files.filter((f) => f.endsWith('.snap')).length, 1, files.join(' '));
    assert.equal(files.filter((f) => f.endsWith('.log')).length, 1, files.join(' '));
    const t = await EmbeddedStateStore.open({ dataDir });
    const keys = (await t.list('k/')).map((e) => Number(e.key.slice(2)));
    const expected = Array.from({ length: 300 }, (_, i) => i).filter((i) => !(i % 3 === 2 && i + 1 < 300));
    assert.deepEqual(keys, expected);
    await t.close();
  }));

test('concurrent commits share fsyncs (group commit)', () =>
  withDir(async (dataDir) => {
    const s = await EmbeddedStateStore.open({ dataDir });
    await Promise.all(Array.from({ length: 200 }, (_, i) => s.commit([{ type: 'put', key: `g/${i}`, value: i }])));
    const { commits, fsyncs } = s.stats();
    assert.equal(commits, 200);
    assert.ok(fsyncs < commits / 4, `${fsyncs} fsyncs for ${commits} commits`);
    await s.close();
  }));

test('after close, commits are refused with a clear error', () =>
  withDir(async (dataDir) => {
    const s = await EmbeddedStateStore.open({ dataDir });
    const pending = s.commit([{ type: 'put', key: 'queued', value: 1 }]);
    await s.close();
    await pending;
    await assert.rejects(s.commit([{ type: 'put', key: 'late', value: 1 }]), (err: unknown) => err instanceof StateUnavailableError && /closed/.test(err.message));
    const t = await EmbeddedStateStore.open({ dataDir });
    assert.equal(await t.get('queued'), 1);
    await t.close();
  }));

test('a large state is not rewritten for every small journal: compaction waits until the journal outgrows the snapshot', () =>
  withDir(async (dataDir) => {
    const s = await EmbeddedStateStore.open({ dataDir, compactAfterBytes: 1024 });
    await s.commit(Array.from({ length: 2000 }, (_, i) => ({ type: 'put' as const, key: `big/${i}`, value: 'v'.repeat(40) })));
    await s.idle();
    const first = s.stats().compactions;
    assert.equal(first, 1, 'the 100 KB transaction itself triggers one compaction');
    // ~60 bytes per commit: 200 commits = ~12 KB of journal, far below the ~100 KB snapshot.
    for (let i = 0; i < 200; i++) await s.commit([{ type: 'put', key: 'counter', value: i }]);
    await s.idle();
    assert.equal(s.stats().compactions, first);
    await s.close();
    const t = await EmbeddedStateStore.open({ dataDir, compactAfterBytes: 1024 });
    assert.equal((await t.list('big/')).length, 2000);
    assert.equal(await t.get('counter'), 199);
    await t.close();
  }));

test('another live process holding the data_dir is named in the error; once it is killed the lock is taken over', () =>
  withDir(async (dataDir) => {
    const writer = fileURLToPath(new URL('../fixtures/crash-writer.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', writer, dataDir, '0', String(1 << 20)], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => chunk.includes('READY') && resolve());
        child.on('exit', (code) => reject(new Error(`writer exited early with ${code}`)));
      });
      await assert.rejects(EmbeddedStateStore.open({ dataDir }), (err: unknown) => err instanceof StateLockedError && err.message.includes(`live process ${child.pid}`));
    } finally {
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('close', resolve));
    }
    const s = await EmbeddedStateStore.open({ dataDir });
    assert.ok((await s.list('tx/')).length % 3 === 0);
    await s.close();
  }));
