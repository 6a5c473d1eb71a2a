/** `hydrant stream` list / describe / read / reset on a real data dir (log + embedded state store). */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parsePosition, runStream } from '../../src/cli/commands/stream.ts';
import { main } from '../../src/cli/main.ts';
import { EmbeddedStateStore } from '../../src/state/embedded/embedded-state-store.ts';
import { ConsumerCheckpoints } from '../../src/stream/consumer-checkpoints.ts';
import { EmbeddedStreamLog } from '../../src/stream/embedded/embedded-stream-log.ts';

async function cli(args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await runStream(args, (t) => (out += t));
  return { code, out };
}

test('hydrant stream: list, describe with consumer lag, read any position, reset a consumer', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hydrant-stream-cli-'));
  try {
    const dataDir = join(dir, 'data');
    const log = new EmbeddedStreamLog({ dataDir, retentionIntervalMs: 0 });
    await log.ensureStream('orders', { shards: 2 });
    const res = await log.append('orders', Array.from({ length: 20 }, (_, i) => ({ partitionKey: `k${i}`, data: Buffer.from(JSON.stringify({ i })) })));
    await log.append('orders', [{ partitionKey: 'bin', data: Buffer.from([0xff, 0xfe, 0x00]) }]);
    await log.close();
    const state = await EmbeddedStateStore.open({ dataDir });
    await new ConsumerCheckpoints(state, 'orders', 'lake').commit(res[0]!.shardId, res[0]!.sequence);
    await state.close();

    const list = await cli(['list', '--data-dir', dataDir]);
    assert.equal(list.code, 0);
    assert.match(list.out, /orders\s+2\/2\s+21\s+\d+/);

    const described = await cli(['describe', '--data-dir', dataDir, 'orders', '--json']);
    const d = JSON.parse(described.out) as { shards: Array<{ shardId: string; records: number; hashKeyRange: { start: string } }>; consumers: Array<{ consumer: string; lag: Array<{ shardId: string; records: number }> }> };
    assert.equal(d.shards.length, 2);
    assert.equal(d.shards.reduce((s, x) => s + x.records, 0), 21);
    const lag = d.consumers.find((c) => c.consumer === 'lake')!.lag;
    assert.equal(lag.reduce((s, l) => s + l.records, 0), 20, 'one record read of 21');
    const text = await cli(['describe', '--data-dir', dataDir, 'orders']);
    assert.match(text.out, /HASH KEY RANGE/);
    assert.match(text.out, /lake\s+shardId-/);

    const read = await cli(['read', '--data-dir', dataDir, 'orders']);
    const lines = read.out.trim().split('\n').map((l) => JSON.parse(l) as { data: string; encoding: string; sequence: string; shardId: string });
    assert.equal(lines.length, 21);
    assert.ok(lines.some((l) => l.encoding === 'base64' && Buffer.from(l.data, 'base64').equals(Buffer.from([0xff, 0xfe, 0x00]))));
    const shard = res[0]!.shardId;
    const after = await cli(['read', '--data-dir', dataDir, 'orders', '--shard', shard, '--from', `AFTER_SEQUENCE_NUMBER=${res[0]!.sequence}`, '--max', '2']);
    assert.equal(after.out.trim().split('\n').length, 2);
    assert.ok(after.out.trim().split('\n').every((l) => (JSON.parse(l) as { sequence: string }).sequence > res[0]!.sequence));
    const future = await cli(['read', '--data-dir', dataDir, 'orders', '--from', `AT_TIMESTAMP=${new Date(Date.now() + 3600_000).toISOString()}`]);
    assert.equal(future.out, '');

    const reset = await cli(['reset', '--data-dir', dataDir, 'orders', 'lake', '--to', 'LATEST']);
    assert.equal(reset.code, 0);
    const again = JSON.parse((await cli(['describe', '--data-dir', dataDir, 'orders', '--json'])).out) as typeof d;
    assert.equal(again.consumers.find((c) => c.consumer === 'lake')!.lag.reduce((s, l) => s + l.records, 0), 0);
    await cli(['reset', '--data-dir', dataDir, 'orders', 'lake', '--to', 'TRIM_HORIZON', '--shard', shard]);
    const third = JSON.parse((await cli(['describe', '--data-dir', dataDir, 'orders', '--json'])).out) as typeof d;
    assert.equal(third.consumers[0]!.lag.find((l) => l.shardId === shard)!.records, d.shards.find((s) => s.shardId === shard)!.records);

    // A running pipeline holds the state store: describe reads it read-only (consumers and lag
    // as committed so far), reset refuses clearly.
    const held = await EmbeddedStateStore.open({ dataDir });
    try {
      await new ConsumerCheckpoints(held, 'orders', 'lake').commit(shard, res[0]!.sequence);
      const busy = JSON.parse((await cli(['describe', '--data-dir', dataDir, 'orders', '--json'])).out) as typeof d & { consumersUnavailable?: string };
      assert.equal(busy.shards.length, 2);
      assert.equal(busy.consumersUnavailable, undefined);
      assert.equal(busy.consumers.find((c) => c.consumer === 'lake')!.lag.find((l) => l.shardId === shard)!.records, d.shards.find((s) => s.shardId === shard)!.records - 1, 'sees the checkpoint the holder committed');
      assert.equal(await main(['stream', 'reset', '--data-dir', dataDir, 'orders', 'lake', '--to', 'LATEST']), 1);
      await held.commit([{ type: 'put', key: 'still/writable', value: true }]);
    } finally {
      await held.close();
    }

    // A pipeline FILE names the data dir.
    const file = join(dir, 'pipeline.yaml');
    await writeFile(file, 'name: p\ndata_dir: data\nstreams:\n  orders:\n    shards: 2\n');
    assert.match((await cli(['list', file])).out, /orders/);
    // Through the dispatcher: usage errors exit 2/1 with a message, never a stack trace.
    assert.equal(await main(['stream', 'bogus', '--data-dir', dataDir]), 1);
    assert.equal(await main(['stream', 'describe', '--data-dir', dataDir, 'nope']), 1);
    assert.equal(await main(['stream', 'list', '--no-such-flag']), 1);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('positions parse from the command line', () => {
  assert.deepEqual(parsePosition('trim_horizon'), { type: 'TRIM_HORIZON' });
  assert.deepEqual(parsePosition('AT_SEQUENCE_NUMBER=0042'), { type: 'AT_SEQUENCE_NUMBER', sequence: '0042' });
  assert.deepEqual(parsePosition('AT_TIMESTAMP=2026-01-02T03:04:05Z'), { type: 'AT_TIMESTAMP', timestamp: Date.UTC(2026, 0, 2, 3, 4, 5) });
  assert.deepEqual(parsePosition('AT_TIMESTAMP=1700000000000'), { type: 'AT_TIMESTAMP', timestamp: 1700000000000 });
  assert.throws(() => parsePosition('AT_SEQUENCE_NUMBER=abc'), /position/);
  assert.throws(() => parsePosition('yesterday'), /position/);
});
