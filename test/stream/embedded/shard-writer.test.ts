import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkBlock } from '../../../src/stream/embedded/block-format.ts';
import { FixedGroupPolicy, type GroupPolicy } from '../../../src/stream/embedded/group-commit-tuner.ts';
import { SEGMENT_HEADER_BYTES } from '../../../src/stream/embedded/segment-format.ts';
import { createSegment } from '../../../src/stream/embedded/segment-files.ts';
import { ShardWriter } from '../../../src/stream/embedded/shard-writer.ts';
import type { Segment } from '../../../src/stream/embedded/segment.ts';

const RECORDS = 10;

/** A writer on a fresh segment with a fixed policy (removed after the test); `groups` collects each flush's size in batches. */
async function writerWith(t: TestContext, policy: GroupPolicy): Promise<{ writer: ShardWriter; segment: Segment; groups: number[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'hydrant-writer-'));
  const segment = await createSegment(dir, 1, Date.now());
  const groups: number[] = [];
  let last = 0;
  const writer = new ShardWriter(dir, {
    activeSegment: () => segment,
    committed: (lastSequence) => {
      groups.push((lastSequence - last) / RECORDS);
      last = lastSequence;
    },
    countFsync: () => {},
  }, 1, 0, 64 * 1024, 1 << 20, new FixedGroupPolicy(policy));
  t.after(async () => {
    await writer.drain();
    await writer.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { writer, segment, groups };
}

const batch = (p: number, b: number): Array<{ partitionKey: string; data: Buffer }> => Array.from({ length: RECORDS }, (_, i) => ({ partitionKey: `p${p}`, data: Buffer.from(`${p}:${b}:${i}`) }));

/** `producers` closed-loop appenders (each awaits its ack before the next batch), `batches` each. */
async function run(writer: ShardWriter, producers: number, batches: number): Promise<void> {
  await Promise.all(Array.from({ length: producers }, async (_, p) => {
    for (let b = 0; b < batches; b++) await writer.enqueue(batch(p, b));
  }));
}

/** Every block in the file, in order: sequences consecutive from 1, `records` in all. */
async function assertBlocks(segment: Segment, records: number): Promise<void> {
  const b = await readFile(segment.path);
  assert.equal(b.length, segment.dataEnd, 'nothing beyond the acknowledged end');
  let o = SEGMENT_HEADER_BYTES;
  let next = 1;
  while (o < b.length) {
    const c = checkBlock(b, o);
    assert.equal(c.kind, 'ok', `block at ${o}`);
    if (c.kind !== 'ok') return;
    assert.equal(c.first, next, `block at ${o} continues the sequence`);
    next += c.count;
    o = c.end;
  }
  assert.equal(next - 1, records);
}

test('join: the producers an fsync released share the next group (one group per round)', async (t) => {
  const { writer, segment, groups } = await writerWith(t, 'join');
  await run(writer, 4, 6);
  assert.deepEqual(groups, [4, 4, 4, 4, 4, 4]);
  await assertBlocks(segment, 4 * 6 * RECORDS);
});

test('eager: the first producer back is written alone, the others after it (groups of 1 and 3)', async (t) => {
  const { writer, segment, groups } = await writerWith(t, 'eager');
  await run(writer, 4, 6);
  assert.deepEqual(groups.slice(0, 4), [1, 3, 1, 3]);
  await assertBlocks(segment, 4 * 6 * RECORDS);
});

test('split: groups settle at half of the producers, each started as soon as that half has queued', async (t) => {
  const { writer, segment, groups } = await writerWith(t, 'split');
  await run(writer, 4, 12);
  // First batch alone (nothing expected yet), the other three behind it; then the target is
  // half of 4: the group of 3's producers come back one by one and the second one starts a group.
  assert.deepEqual(groups.slice(0, 3), [1, 3, 2]);
  assert.ok(groups.slice(3).every((g) => g === 2), groups.join(','));
  assert.equal(groups.reduce((a, b) => a + b, 0), 48);
  await assertBlocks(segment, 4 * 12 * RECORDS);
});

test('split: a group never waits for producers that are not coming', async (t) => {
  const { writer, segment, groups } = await writerWith(t, 'split');
  await run(writer, 4, 4);
  const before = groups.length;
  // The writer now expects two producers per group; one is left: each batch goes alone after
  // one event-loop turn.
  await run(writer, 1, 5);
  assert.deepEqual(groups.slice(before), [1, 1, 1, 1, 1]);
  // drain() does not wait for a group's missing half either.
  const p = writer.enqueue(batch(9, 0));
  await writer.drain();
  assert.equal(await p, 4 * 4 * RECORDS + 5 * RECORDS + 1);
  await assertBlocks(segment, 4 * 4 * RECORDS + 6 * RECORDS);
});

test('split writes through a descriptor opened O_DSYNC (each write durable on return, no separate fdatasync)', { skip: !existsSync('/proc/self/fdinfo') }, async (t) => {
  const { writer, segment } = await writerWith(t, 'split');
  await run(writer, 2, 2);
  const flags = readdirSync('/proc/self/fd')
    .filter((fd) => { try { return readlinkSync(`/proc/self/fd/${fd}`) === segment.path; } catch { return false; } })
    .map((fd) => parseInt(/flags:\s*([0-7]+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1] ?? '0', 8));
  const O_DSYNC = 0o10000;
  assert.ok(flags.some((f) => (f & O_DSYNC) !== 0), `a descriptor of ${segment.path} has O_DSYNC; flags: ${flags.map((f) => f.toString(8)).join(', ')}`);
});
