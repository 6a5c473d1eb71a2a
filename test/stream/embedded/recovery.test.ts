/**
 * Recovery and integrity of the embedded log, by damaging real files: a torn tail is cut off
 * with a warning naming file and offset; damage inside acknowledged data is never served
 * (DATA_CORRUPT) while records around it stay readable; lost index files are rebuilt.
 */
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readdir, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { crc32 } from 'node:zlib';
import { CorruptionError } from '../../../src/core/errors.ts';
import { createLogger } from '../../../src/core/logger.ts';
import { EmbeddedStreamLog, InvalidRecordError } from '../../../src/stream/embedded/embedded-stream-log.ts';
import { readAll } from '../stream-log-conformance.ts';

const enc = (s: string): Uint8Array => Buffer.from(s);

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'hydrant-log-recovery-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function open(dataDir: string, lines: string[] = [], segmentBytes?: number): EmbeddedStreamLog {
  return new EmbeddedStreamLog({ dataDir, retentionIntervalMs: 0, segmentBytes, indexIntervalBytes: 128, logger: createLogger({ level: 'debug', sink: (l) => lines.push(l) }) });
}

async function segmentFiles(dataDir: string, stream: string, shard: string): Promise<string[]> {
  const dir = join(dataDir, 'streams', stream, shard);
  return (await readdir(dir)).filter((f) => f.endsWith('.seg')).sort().map((f) => join(dir, f));
}

/** Block boundaries of a segment file, read from the documented layout (docs/stream.md). */
function blockLayout(bytes: Buffer): Array<{ start: number; end: number; first: number; count: number }> {
  const out: Array<{ start: number; end: number; first: number; count: number }> = [];
  for (let o = 32; o + 8 <= bytes.length; ) {
    const end = o + 8 + bytes.readUInt32LE(o);
    if (end > bytes.length) break;
    out.push({ start: o, end, first: Number(bytes.readBigUInt64LE(o + 8)), count: bytes.readUInt32LE(o + 24) });
    o = end;
  }
  return out;
}

/** Offset of the data of the `index`-th record of a block. */
function recordDataOffset(bytes: Buffer, block: { start: number }, index: number): number {
  // Body: fixed part (24 bytes, the last 4 = bytes of record headers), headers, then all data.
  const body = block.start + 8;
  let h = body + 24;
  let data = h + bytes.readUInt32LE(body + 20);
  for (let i = 0; i < index; i++) {
    data += bytes.readUInt32LE(h);
    h += 6 + bytes.readUInt16LE(h + 4);
  }
  return data;
}

async function fill(log: EmbeddedStreamLog, stream: string, batches: number, per: number): Promise<string> {
  const d = await log.ensureStream(stream, { shards: 1 });
  for (let b = 0; b < batches; b++) await log.append(stream, Array.from({ length: per }, (_, i) => ({ partitionKey: 'k', data: enc(`b${b}-r${i}-${'x'.repeat(40)}`) })));
  return d.shards[0]!.shardId;
}

for (const [label, tail] of [
  ['block cut inside its fixed header', (block: Buffer) => block.subarray(0, 21)],
  ['block cut inside its last record', (block: Buffer) => block.subarray(0, block.length - 1)],
  ['full-length block with a bad checksum', (block: Buffer) => Buffer.concat([block.subarray(0, 8), Buffer.alloc(block.length - 8, 0x5a)])],
  ['zero bytes left by a crash', (block: Buffer) => Buffer.alloc(block.length)],
] as const) {
  test(`torn tail (${label}) is truncated on open with a warning naming file and offset`, () => withDir(async (dataDir) => {
    let log = open(dataDir);
    const shard = await fill(log, 's', 5, 4);
    await log.close();
    const [file] = await segmentFiles(dataDir, 's', shard);
    const before = (await stat(file!)).size;
    const whole = await readFile(file!);
    const last = blockLayout(whole).at(-1)!;
    // The next block as the writer would have written it (records 21-24), then torn.
    const next = Buffer.from(whole.subarray(last.start, last.end));
    next.writeBigUInt64LE(21n, 8);
    next.writeUInt32LE(crc32(next.subarray(8)), 4);
    await appendFile(file!, tail(next));
    const lines: string[] = [];
    log = open(dataDir, lines);
    const recs = await readAll(log, 's', shard);
    assert.equal(recs.length, 20);
    const warn = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['level'] === 'warn' && String(l['msg']).includes('torn tail'));
    assert.ok(warn, `expected a torn-tail warning, got ${lines.join('\n')}`);
    assert.equal(warn['file'], file);
    assert.equal(warn['offset'], before);
    assert.equal((await stat(file!)).size, before, 'the tail was cut off');
    const [r] = await log.append('s', [{ partitionKey: 'k', data: enc('after') }]);
    assert.equal(Number(r!.sequence), 21, 'sequences continue after the last acknowledged record');
    assert.equal((await readAll(log, 's', shard)).length, 21);
    await log.close();
  }));
}

test('damage inside acknowledged data is never served: DATA_CORRUPT for its block, records around it readable', () => withDir(async (dataDir) => {
  let log = open(dataDir);
  const shard = await fill(log, 's', 3, 10); // three blocks: records 1-10, 11-20, 21-30
  await log.close();
  const [file] = await segmentFiles(dataDir, 's', shard);
  const bytes = await readFile(file!);
  const blocks = blockLayout(bytes);
  assert.deepEqual(blocks.map((b) => [b.first, b.count]), [[1, 10], [11, 10], [21, 10]]);
  const target = recordDataOffset(bytes, blocks[1]!, 5) + 3; // inside record 16's data
  bytes[target] = bytes[target]! ^ 0xff;
  await writeFile(file!, bytes);
  const lines: string[] = [];
  log = open(dataDir, lines);
  const first = await log.read('s', shard, { type: 'TRIM_HORIZON' }, { maxRecords: 100 });
  assert.ok(lines.some((l) => l.includes('damaged acknowledged records')), 'open reports the damage');
  assert.equal((await stat(file!)).size, bytes.length, 'damage inside acknowledged data is not truncated');
  // A block has one checksum: the whole block holding the damage is unservable, not only record 16.
  assert.deepEqual(first.records.map((r) => Number(r.sequence)), Array.from({ length: 10 }, (_, i) => i + 1));
  await assert.rejects(log.read('s', shard, first.next!), (err: unknown) => err instanceof CorruptionError && err.code === 'DATA_CORRUPT' && err.message.includes(file!) && err.message.includes(`byte ${blocks[1]!.start}`));
  await assert.rejects(log.read('s', shard, { type: 'AT_SEQUENCE_NUMBER', sequence: '16' }), CorruptionError);
  await assert.rejects(log.read('s', shard, { type: 'AT_SEQUENCE_NUMBER', sequence: '11' }), CorruptionError);
  const after = await log.read('s', shard, { type: 'AT_SEQUENCE_NUMBER', sequence: '21' });
  assert.deepEqual(after.records.map((r) => Number(r.sequence)), Array.from({ length: 10 }, (_, i) => i + 21));
  const [r] = await log.append('s', [{ partitionKey: 'k', data: enc('more') }]);
  assert.equal(Number(r!.sequence), 31);
  await log.close();
}));

test('damage in a sealed segment found at read time fails the read; lost index files are rebuilt', () => withDir(async (dataDir) => {
  let log = open(dataDir, [], 1024);
  const shard = await fill(log, 's', 20, 5);
  await log.close();
  const files = await segmentFiles(dataDir, 's', shard);
  assert.ok(files.length >= 5, `expected several segments, got ${files.length}`);
  const idxDir = join(dataDir, 'streams', 's', shard);
  for (const f of (await readdir(idxDir)).filter((x) => x.endsWith('.idx'))) await unlink(join(idxDir, f));
  log = open(dataDir, [], 1024);
  const all = await readAll(log, 's', shard);
  assert.equal(all.length, 100);
  assert.ok((await readdir(idxDir)).filter((x) => x.endsWith('.idx')).length >= files.length - 1, 'index files rebuilt for sealed segments');
  await log.close();
  // Damage the second segment now that its index is trusted again: found only when read.
  const bytes = await readFile(files[1]!);
  bytes[bytes.length - 3] = bytes[bytes.length - 3]! ^ 0x01;
  await writeFile(files[1]!, bytes);
  log = open(dataDir, [], 1024);
  await assert.rejects(readAll(log, 's', shard, { type: 'TRIM_HORIZON' }, 1000), CorruptionError);
  await log.close();
}));

test('group commit: many concurrent appenders share fsyncs', () => withDir(async (dataDir) => {
  const log = open(dataDir);
  await log.ensureStream('g', { shards: 1 });
  const before = log.stats();
  await Promise.all(Array.from({ length: 200 }, (_, i) => log.append('g', [{ partitionKey: 'k', data: enc(`v${i}`) }])));
  const s = log.stats();
  const appends = s.appends - before.appends;
  const fsyncs = s.fsyncs - before.fsyncs;
  assert.equal(appends, 200);
  assert.ok(fsyncs >= 1 && fsyncs <= 20, `200 concurrent appends took ${fsyncs} fsyncs; group commit should share them`);
  assert.equal((await readAll(log, 'g', 'shardId-000000000000')).length, 200);
  await log.close();
}));

test('invalid records are refused with nothing of the batch appended', () => withDir(async (dataDir) => {
  const log = new EmbeddedStreamLog({ dataDir, retentionIntervalMs: 0, maxRecordBytes: 100 });
  const d = await log.ensureStream('v', { shards: 1 });
  await assert.rejects(log.append('v', [{ partitionKey: 'k', data: enc('ok') }, { partitionKey: 'k', data: Buffer.alloc(101) }]), (e: unknown) => e instanceof InvalidRecordError && e.message.includes('record 1'));
  await assert.rejects(log.append('v', [{ partitionKey: '', data: enc('x') }]), InvalidRecordError);
  await assert.rejects(log.append('v', [{ partitionKey: 'k', data: enc('x'), explicitHashKey: '-5' }]), /explicit hash key/);
  const [uni] = await log.append('v', [{ partitionKey: 'ключ-🔑'.repeat(30), data: enc('multi-byte key') }]);
  const back = await log.read('v', d.shards[0]!.shardId, { type: 'AT_SEQUENCE_NUMBER', sequence: uni!.sequence });
  assert.equal(back.records[0]!.partitionKey, 'ключ-🔑'.repeat(30));
  assert.equal((await readAll(log, 'v', d.shards[0]!.shardId)).length, 1, 'only the valid multi-byte record');
  await log.close();
}));

test('AT_TIMESTAMP and AT_SEQUENCE_NUMBER seek through the sparse index, not a scan', () => withDir(async (dataDir) => {
  const log = new EmbeddedStreamLog({ dataDir, retentionIntervalMs: 0, segmentBytes: 1 << 20, indexIntervalBytes: 4096 }); // one segment: only the index can avoid a scan
  const d = await log.ensureStream('t', { shards: 1 });
  const shard = d.shards[0]!.shardId;
  let lastMs = 0;
  for (let b = 0; b < 200; b++) {
    while (Date.now() === lastMs) await new Promise((r) => setTimeout(r, 1)); // one arrival ms per batch
    lastMs = Date.now();
    await log.append('t', Array.from({ length: 20 }, (_, i) => ({ partitionKey: 'k', data: Buffer.alloc(200, (b * 20 + i) % 251) })));
  }
  const all = await readAll(log, 't', shard, { type: 'TRIM_HORIZON' }, 100_000);
  assert.equal(all.length, 4000);
  const total = (await log.shardInfo('t', shard)).bytes;
  for (const i of [1234, 2999, 3990]) {
    const before = log.stats().bytesRead;
    const r = await log.read('t', shard, { type: 'AT_TIMESTAMP', timestamp: all[i]!.arrivalTime }, { maxRecords: 5 });
    assert.equal(r.records[0]!.arrivalTime, all[i]!.arrivalTime);
    assert.ok(r.records[0]!.sequence <= all[i]!.sequence);
    const used = log.stats().bytesRead - before;
    assert.ok(used <= 4096 + 65536 + 8192, `AT_TIMESTAMP read ${used} of ${total} bytes`);
    const before2 = log.stats().bytesRead;
    const s = await log.read('t', shard, { type: 'AT_SEQUENCE_NUMBER', sequence: all[i]!.sequence }, { maxRecords: 5 });
    assert.equal(s.records[0]!.sequence, all[i]!.sequence);
    assert.ok(log.stats().bytesRead - before2 <= 4096 + 65536 + 8192);
  }
  await log.close();
}));

test('read-only open changes no file: a tail in flight is neither truncated nor served; writes are refused', () => withDir(async (dataDir) => {
  const writer = open(dataDir);
  const shard = await fill(writer, 's', 2, 5);
  await writer.close();
  const [file] = await segmentFiles(dataDir, 's', shard);
  await appendFile(file!, Buffer.alloc(25, 0x7f)); // as if a writer were mid-append
  const size = (await stat(file!)).size;
  const ro = new EmbeddedStreamLog({ dataDir, readOnly: true });
  assert.equal((await readAll(ro, 's', shard)).length, 10);
  assert.equal((await stat(file!)).size, size, 'read-only open leaves the tail alone');
  await assert.rejects(ro.append('s', [{ partitionKey: 'k', data: enc('x') }]), /read-only/);
  await assert.rejects(ro.reshard('s', 2), /read-only/);
  await assert.rejects(ro.ensureStream('new', { shards: 1 }), /read-only/);
  assert.deepEqual(await ro.listStreams(), ['s']);
  await ro.close();
}));

test('concurrent first use of a stream shares one handle (one writer per shard)', () => withDir(async (dataDir) => {
  let log = open(dataDir);
  const created = await Promise.all([log.ensureStream('c', { shards: 1 }), log.ensureStream('c', { shards: 1 })]);
  assert.deepEqual(created[0], created[1]);
  await log.close();
  log = open(dataDir);
  // Nothing cached yet: every append opens the stream concurrently.
  const res = await Promise.all(Array.from({ length: 20 }, (_, i) => log.append('c', [{ partitionKey: 'k', data: enc(`v${i}`) }])));
  assert.equal(new Set(res.map((r) => r[0]!.sequence)).size, 20, 'no sequence handed out twice');
  assert.equal((await readAll(log, 'c', res[0]![0]!.shardId)).length, 20);
  await log.close();
}));
