/**
 * Segment format version 2 (blocks) through the whole log: reads that start inside a block,
 * records larger than the block bound, index files rebuilt byte for byte, and version-1
 * segments converted in place (or refused with a clear error when they cannot be).
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
import { createLogger } from '../../../src/core/logger.ts';
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

test('an empty append writes no block: reads, reopen and later appends are unaffected', () => withDir(async (dataDir) => {
  const open = (): EmbeddedStreamLog => new EmbeddedStreamLog({ dataDir, retentionIntervalMs: 0 });
  let log = open();
  const shard = (await log.ensureStream('e', { shards: 1 })).shards[0]!.shardId;
  assert.deepEqual(await log.append('e', []), []);
  await log.append('e', [{ partitionKey: 'k', data: payload(1) }]);
  assert.deepEqual(await log.append('e', []), []);
  await log.append('e', [{ partitionKey: 'k', data: payload(2) }]);
  assert.deepEqual(nums(await readAll(log, 'e', shard)), [1, 2]);
  await log.close();
  const lines: string[] = [];
  log = new EmbeddedStreamLog({ dataDir, retentionIntervalMs: 0, logger: createLogger({ level: 'debug', sink: (l) => lines.push(l) }) });
  assert.deepEqual(nums(await readAll(log, 'e', shard)), [1, 2]);
  assert.deepEqual(lines.filter((l) => l.includes('"warn"') || l.includes('"error"')), [], 'no torn tail or damage reported');
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

/** A version-1 segment as Hydrant wrote it before blocks: one frame with its own CRC per record. */
function v1Segment(base: number, createdAt: number, records: ReadonlyArray<{ seq: number; arrival: number; key: string; data: Buffer }>, version = 1): Buffer {
  const head = Buffer.alloc(32);
  head.writeUInt32LE(0x47535948, 0);
  head.writeUInt16LE(version, 4);
  head.writeUInt16LE(32, 6);
  head.writeBigUInt64LE(BigInt(base), 8);
  head.writeDoubleLE(createdAt, 16);
  head.writeUInt32LE(crc32(head.subarray(0, 28)), 28);
  const frames = records.map((r) => {
    const k = Buffer.from(r.key);
    const body = Buffer.alloc(18 + k.length + r.data.length);
    body.writeBigUInt64LE(BigInt(r.seq), 0);
    body.writeDoubleLE(r.arrival, 8);
    body.writeUInt16LE(k.length, 16);
    k.copy(body, 18);
    r.data.copy(body, 18 + k.length);
    const h = Buffer.alloc(8);
    h.writeUInt32LE(body.length, 0);
    h.writeUInt32LE(crc32(body), 4);
    return Buffer.concat([h, body]);
  });
  return Buffer.concat([head, ...frames]);
}

/** A stream whose shard holds hand-written version-1 segments: records 1-30 sealed, 31-45 active with a torn tail. */
async function v1Stream(dataDir: string): Promise<{ shard: string; dir: string; recs: Array<{ seq: number; arrival: number; key: string; data: Buffer }> }> {
  const log = new EmbeddedStreamLog({ dataDir, retentionIntervalMs: 0 });
  const shard = (await log.ensureStream('old', { shards: 1 })).shards[0]!.shardId;
  await log.close();
  const dir = join(dataDir, 'streams', 'old', shard);
  for (const f of await readdir(dir)) await unlink(join(dir, f));
  const recs = range(1, 45).map((seq) => ({ seq, arrival: 1.7e12 + Math.ceil(seq / 10) * 1000, key: seq % 3 === 0 ? `ключ-${seq % 4}` : `k${seq % 4}`, data: payload(seq, 20 + (seq % 13)) }));
  await writeFile(join(dir, '00000000000000000001.seg'), v1Segment(1, 1.7e12, recs.slice(0, 30)));
  await writeFile(join(dir, '00000000000000000001.idx'), Buffer.from('an old version-1 index'));
  const active = v1Segment(31, 1.7e12 + 3000, recs.slice(30));
  await writeFile(join(dir, '00000000000000000031.seg'), Buffer.concat([active, active.subarray(40, 61)])); // torn tail: part of a frame
  return { shard, dir, recs };
}

test('version-1 segments are converted to version 2 on a writable open: same records, sequences and arrivals', () => withDir(async (dataDir) => {
  const { shard, dir, recs } = await v1Stream(dataDir);
  const lines: string[] = [];
  let log = new EmbeddedStreamLog({ dataDir, retentionIntervalMs: 0, logger: createLogger({ level: 'debug', sink: (l) => lines.push(l) }) });
  const check = async (l: EmbeddedStreamLog): Promise<void> => {
    const all = await readAll(l, 'old', shard, { type: 'TRIM_HORIZON' }, 7);
    assert.deepEqual(all.slice(0, 45).map((r) => [Number(r.sequence), r.arrivalTime, r.partitionKey, Buffer.from(r.data).toString()]), recs.map((r) => [r.seq, r.arrival, r.key, r.data.toString()]));
    const t = await l.read('old', shard, { type: 'AT_TIMESTAMP', timestamp: 1.7e12 + 3000 }, { maxRecords: 1 });
    assert.equal(Number(t.records[0]!.sequence), 21);
  };
  await check(log);
  assert.equal(lines.filter((l) => l.includes('converted a segment from format version 1 to 2')).length, 2);
  for (const f of ['00000000000000000001.seg', '00000000000000000031.seg']) assert.equal((await readFile(join(dir, f))).readUInt16LE(4), 2, `${f} is version 2 now`);
  const [next] = await log.append('old', [{ partitionKey: 'k', data: Buffer.from('after') }]);
  assert.equal(Number(next!.sequence), 46, 'appends continue after the last converted record; the torn tail is gone');
  await log.close();
  log = new EmbeddedStreamLog({ dataDir, retentionIntervalMs: 0 });
  await check(log);
  assert.equal((await readAll(log, 'old', shard)).length, 46);
  await log.close();
  assert.deepEqual((await readdir(dir)).filter((f) => f.includes('tmp')), [], 'no temporary file left');
}));

test('a version-1 segment that cannot be converted (read-only open, damage) and a newer version are clear errors', () => withDir(async (dataDir) => {
  const { shard, dir } = await v1Stream(dataDir);
  const sealed = join(dir, '00000000000000000001.seg');
  const before = await readFile(sealed);
  const expectError = async (opts: { readOnly?: boolean }, pattern: RegExp): Promise<void> => {
    const log = new EmbeddedStreamLog({ dataDir, retentionIntervalMs: 0, ...opts });
    await assert.rejects(log.read('old', shard, { type: 'TRIM_HORIZON' }), (err: unknown) => {
      assert.ok(err instanceof HydrantError);
      assert.equal(err.code, 'LOG_FORMAT_VERSION');
      assert.ok(err.message.includes(sealed), `names the file: ${err.message}`);
      assert.match(err.message, pattern);
      return true;
    });
    await log.close();
  };
  await expectError({ readOnly: true }, /format version 1.*read-only open does not convert it/);
  assert.deepEqual(await readFile(sealed), before, 'a read-only open changes nothing');
  const damaged = Buffer.from(before);
  damaged[200] = damaged[200]! ^ 0xff; // inside an early frame of the sealed segment
  await writeFile(sealed, damaged);
  await expectError({}, /damaged at byte \d+.*would drop acknowledged records/);
  assert.deepEqual(await readFile(sealed), damaged, 'a damaged version-1 segment is left as it was');
  const newer = Buffer.from(before);
  newer.writeUInt16LE(3, 4);
  newer.writeUInt32LE(crc32(newer.subarray(0, 28)), 28);
  await writeFile(sealed, newer);
  await expectError({}, /newer Hydrant.*Upgrade Hydrant/);
}));
