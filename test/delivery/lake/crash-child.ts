/**
 * Child process for the lake crash tests: runs the lake delivery over a pre-filled embedded
 * stream (the way the runner does: per shard, from the consumer checkpoint, in order) until
 * every shard is read, flushes and prints DONE. Killed by crash points or by the parent.
 *
 * Reads 250 records at a time, alternating shards, so buffers of both shards interleave.
 *
 * Environment: CHILD_DATA_DIR, CHILD_LAKE (lake section JSON), CHILD_DELIVERY (config JSON).
 */
import { decodeEnvelope } from '../../../src/core/change-event.ts';
import { silentLogger } from '../../../src/core/logger.ts';
import { Metrics } from '../../../src/core/metrics.ts';
import { lakeDeliveryConfig } from '../../../src/delivery/lake/config.ts';
import { LakeDelivery } from '../../../src/delivery/lake/lake-delivery.ts';
import { lakeConfigSchema, openObjectStore } from '../../../src/lake/lake-config.ts';
import { EmbeddedStateStore } from '../../../src/state/embedded/embedded-state-store.ts';
import type { StateOp } from '../../../src/state/state-store.ts';
import { EmbeddedStreamLog } from '../../../src/stream/embedded/embedded-stream-log.ts';

const dataDir = process.env['CHILD_DATA_DIR'] as string;
const state = await EmbeddedStateStore.open({ dataDir });
const log = new EmbeddedStreamLog({ dataDir, state, retentionIntervalMs: 0 });
const lake = openObjectStore(lakeConfigSchema.parse(JSON.parse(process.env['CHILD_LAKE'] as string)), dataDir);
const delivery = new LakeDelivery(lakeDeliveryConfig.parse(JSON.parse(process.env['CHILD_DELIVERY'] as string)), { name: 'to_lake', dataDir, state, lake, log, logger: silentLogger, metrics: new Metrics() });
const cpKey = (shard: string): string => `consumers/orders/to_lake/${shard}`;
await delivery.start({
  async commit(shard: string, sequence: string, ops: readonly StateOp[] = []) {
    await state.commit([...ops, { type: 'put', key: cpKey(shard), value: sequence }]);
  },
});
const shards = (await log.describeStream('orders')).shards.map((s) => s.shardId);
const pos = new Map<string, string | undefined>();
for (const s of shards) pos.set(s, (await state.get(cpKey(s))) as string | undefined);
let more = true;
while (more) {
  more = false;
  for (const s of shards) {
    const from = pos.get(s);
    const r = await log.read('orders', s, from === undefined ? { type: 'TRIM_HORIZON' } : { type: 'AFTER_SEQUENCE_NUMBER', sequence: from }, { maxRecords: 250 });
    if (r.records.length === 0) continue;
    more = true;
    await delivery.write(s, r.records.map((record) => ({ record, envelope: decodeEnvelope(record.data) })));
    pos.set(s, r.records[r.records.length - 1]?.sequence);
  }
}
await delivery.flush();
await delivery.close();
await lake.close();
await log.close();
await state.close();
process.stdout.write('DONE\n');
