/**
 * Segment format version 2 (blocks) through the whole log: reads that start inside a block,
 * records larger than the block bound, index files rebuilt byte for byte, and a version-1
 * segment refused with a clear error.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { crc32 } from 'node:zlib';
import { HydrantError } from '../../../src/core/errors.ts';
import { EmbeddedStreamLog } from '../../../src/stream/embedded/embedded-stream-log.ts';
import type { StreamRecord } from '../../../src/stream/stream-log.ts';
import { readAll } from '../stream-log-conformance.ts';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'hydrant-log-blocks-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const payload = (n: number, size = 30): Buffer => Buffer.from(`r${n}-`.padEnd(size, String.fromCharCode(97 + (n % 26))));
const nums = (records: readonly StreamRecord[]): number[] => records.map((r) => Number(r.sequence));
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

test('reads starting inside a block return exactly the records from there, by every iterator and page size', () => withDir(async (dataDir) => {
  const log = new EmbeddedStreamLog({ dataDir, retentionIntervalMs: 0, indexIntervalBytes: 64 });
  const shard = (await log.ensureStream('m', { shards: 1 })).shards[0]!.shardId;
  const arrivals: number[] = [];
  for (let b = 0; b < 4; b++) {
    const last = Date.now();
    while (Date.now() === last) await new Promise((r) => setTimeout(r, 1)); // one arrival per block
    await log.append('m', Array.from({ length: 25 }, (_, i) => ({ partitionKey: `key-${i % 4}`, data: payload(b * 25 + i + 1) })));
    arrivals.push((await log.shardInfo('m', shard)).lastArrivalTime!);
  }
  for (const at of [2, 13, 25, 26, 37, 99, 100]) {
    const r = await log.read('m', shard, { type: 'AT_SEQUENCE_NUMBER', sequence: String(at) }, { maxRecords: 7 });
    assert.deepEqual(nums(r.records), range(at, Math.min(100, at + 6)), `AT_SEQUENCE_NUMBER ${at}`);
    assert.equal(Buffer.from(r.records[0]!.data).toString(), payload(at).toString());
    assert.equal(r.records[0]!.partitionKey, `key-${(at - 1) % 25 % 4}`);
    const a = await log.read('m', shard, { type: 'AFTER_SEQUENCE_NUMBER', sequence: String(at) }, { maxRecords: 3 });
    assert.deepEqual(nums(a.records), range(at + 1, Math.min(100, at + 3)), `AFTER_SEQUENCE_NUMBER ${at}`);
  }
  // Every page size, so pages end at every position inside and between blocks.
  for (const page of [1, 3, 7, 24, 25, 26, 100]) assert.deepEqual(nums(await readAll(log, 'm', shard, { type: 'TRIM_HORIZON' }, page)), range(1, 100), `pages of ${page}`);
  // maxBytes stops inside a block and the next read continues right after.
  const first = await log.read('m', shard, { type: 'AT_SEQUENCE_NUMBER', sequence: '10' }, { maxBytes: 65 });
  assert.deepEqual(nums(first.records), [10, 11, 12]);
  const rest = await log.read('m', shard, first.next!, { maxRecords: 2 });
  assert.deepEqual(nums(rest.records), [13, 14]);
  // All records of a block share its arrival: AT_TIMESTAMP lands on a block start.
  for (let b = 0; b < 4; b++) {
    const r = await log.read('m', shard, { type: 'AT_TIMESTAMP', timestamp: arrivals[b]! }, { maxRecords: 2 });
    assert.deepEqual(nums(r.records), [b * 25 + 1, b * 25 + 2]);
    assert.equal(r.records[0]!.arrivalTime, arrivals[b]);
  }
  await log.close();
}));

test('a single record larger than the block bound gets a block of its own and reads back after reopen', () => withDir(async (dataDir) => {
  const open = (): EmbeddedStreamLog => new EmbeddedStreamLog({ dataDir, retentionIntervalMs: 0, blockBytes: 1024, indexIntervalBytes: 256, segmentBytes: 64 << 10 });
  let log = open();
  const shard = (await log.ensureStream('b', { shards: 1 })).shards[0]!.shardId;
  const big = Buffer.alloc(200_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7) % 251;
  const batch = [
    ...Array.from({ length: 40 }, (_, i) => ({ partitionKey: 'small', data: payload(i + 1) })),
    { partitionKey: 'big', data: big },
    ...Array.from({ length: 40 }, (_, i) => ({ partitionKey: 'small', data: payload(i + 42) })),
  ];
  const res = await log.append('b', batch);
  assert.deepEqual(res.map((r) => Number(r.sequence)), range(1, 81));
  const check = async (l: EmbeddedStreamLog): Promise<void> => {
    for (const page of [1, 10, 1000]) {
      const all = await readAll(l, 'b', shard, { type: 'TRIM_HORIZON' }, page);
      assert.deepEqual(nums(all), range(1, 81));
      assert.deepEqual(Buffer.from(all[40]!.data), big);
      assert.equal(all[40]!.partitionKey, 'big');
      assert.equal(Buffer.from(all[80]!.data).toString(), payload(81).toString());
    }
    const at = await l.read('b', shard, { type: 'AT_SEQUENCE_NUMBER', sequence: '41' }, { maxRecords: 1 });
    assert.deepEqual(Buffer.from(at.records[0]!.data), big);
    // A byte limit below the big record still returns it (at least one record per read).
    const one = await l.read('b', shard, { type: 'AT_SEQUENCE_NUMBER', sequence: '41' }, { maxBytes: 10 });
    assert.deepEqual(nums(one.records), [41]);
  };
  await check(log);
  await log.close();
  const dir = join(dataDir, 'streams', 'b', shard);
  const seg = join(dir, (await readdir(dir)).find((f) => f.endsWith('.seg'))!);
  const bytes = await readFile(seg);
  // Blocks stay under the bound except the one holding the big record alone.
  let blocks = 0;
  for (let o = 32; o < bytes.length; blocks++) {
    const len = 8 + bytes.readUInt32LE(o);
    const count = bytes.readUInt32LE(o + 24);
    assert.ok(len <= 1024 || count === 1, `block at ${o}: ${count} records in ${len} bytes`);
    o += len;
  }
  assert.ok(blocks >= 5, `expected the batch split into several blocks, got ${blocks}`);
  log = open();
  await check(log);
  await log.close();
}));

test('index files rebuilt by a scan equal the ones written when sealing', () => withDir(async (dataDir) => {
  const open = (): EmbeddedStreamLog => new EmbeddedStreamLog({ dataDir, retentionIntervalMs: 0, segmentBytes: 2048, indexIntervalBytes: 300, blockBytes: 500 });
  let log = open();
  const shard = (await log.ensureStream('i', { shards: 1 })).shards[0]!.shardId;
  for (let b = 0; b < 60; b++) await log.append('i', Array.from({ length: 1 + (b % 9) }, (_, i) => ({ partitionKey: `k${i}`, data: payload(b * 10 + i, 20 + ((b * i) % 90)) })));
  const before = await readAll(log, 'i', shard);
  await log.close();
  const dir = join(dataDir, 'streams', 'i', shard);
  const idx = (await readdir(dir)).filter((f) => f.endsWith('.idx')).sort();
  assert.ok(idx.length >= 3, `expected several sealed segments, got ${idx.length}`);
  const written = await Promise.all(idx.map((f) => readFile(join(dir, f))));
  for (const f of idx) await unlink(join(dir, f));
  log = open();
  const after = await readAll(log, 'i', shard);
  assert.deepEqual(nums(after), nums(before));
  assert.deepEqual(after.map((r) => Buffer.from(r.data).toString()), before.map((r) => Buffer.from(r.data).toString()));
  const rebuilt = await Promise.all(idx.map((f) => readFile(join(dir, f))));
  for (let i = 0; i < idx.length; i++) assert.deepEqual(rebuilt[i], written[i], `${idx[i]} rebuilt differently`);
  // Seeks through the rebuilt index land on the right records.
  for (const s of [1, 57, before.length]) assert.equal(Number((await log.read('i', shard, { type: 'AT_SEQUENCE_NUMBER', sequence: String(s) }, { maxRecords: 1 })).records[0]!.sequence), s);
  await log.close();
}));

test('a version-1 segment is refused with what, where and what to do', () => withDir(async (dataDir) => {
  let log = new EmbeddedStreamLog({ dataDir, retentionIntervalMs: 0 });
  const shard = (await log.ensureStream('old', { shards: 1 })).shards[0]!.shardId;
  await log.append('old', [{ partitionKey: 'k', data: Buffer.from('x') }]);
  await log.close();
  const dir = join(dataDir, 'streams', 'old', shard);
  const seg = join(dir, (await readdir(dir)).find((f) => f.endsWith('.seg'))!);
  const bytes = await readFile(seg);
  bytes.writeUInt16LE(1, 4); // an intact header of format version 1
  bytes.writeUInt32LE(crc32(bytes.subarray(0, 28)), 28);
  await writeFile(seg, bytes);
  for (const readOnly of [false, true]) {
    log = new EmbeddedStreamLog({ dataDir, retentionIntervalMs: 0, readOnly });
    await assert.rejects(log.read('old', shard, { type: 'TRIM_HORIZON' }), (err: unknown) => {
      assert.ok(err instanceof HydrantError);
      assert.equal(err.code, 'LOG_FORMAT_VERSION');
      assert.ok(err.message.includes(seg), 'names the file');
      assert.match(err.message, /format version 1/);
      assert.match(err.message, /older Hydrant/);
      assert.ok(err.message.includes(join(dataDir, 'streams', 'old')), 'names the stream directory to delete');
      return true;
    });
    await log.close();
  }
  assert.deepEqual(await readFile(seg), bytes, 'the old segment is left as it was');
}));
