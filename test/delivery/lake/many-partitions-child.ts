/**
 * Child of the many-partitions test (runs under --max-old-space-size): 10,000 distinct
 * partition values with a 4 MiB memory budget. Prints one JSON line with the peak RSS, the
 * peak buffered estimate and the counts.
 */
import { join } from 'node:path';
import { silentLogger } from '../../../src/core/logger.ts';
import { Metrics } from '../../../src/core/metrics.ts';
import { lakeDeliveryConfig } from '../../../src/delivery/lake/config.ts';
import { LakeDelivery } from '../../../src/delivery/lake/lake-delivery.ts';
import { FsObjectStore } from '../../../src/lake/fs/fs-object-store.ts';
import { MemoryStateStore } from '../../../src/state/memory-state-store.ts';
import { orderChange, putSchema, records, ORDERS, StateCommitter } from './fixtures.ts';

const dir = process.argv[2] as string;
const PARTITIONS = 10_000;
const PER = 2;
const state = new MemoryStateStore();
await putSchema(state, ORDERS);
const lake = new FsObjectStore(join(dir, 'lake'));
const budgetMiB = 4;
const d = new LakeDelivery(lakeDeliveryConfig.parse({ format: 'jsonl', compression: 'none', changes_prefix: 'p/{field:customer}', buffer_size_mib: 64, buffer_interval_s: 900, memory_budget_mib: budgetMiB, max_open_partitions: 100_000 }), { name: 'many', dataDir: dir, state, lake, logger: silentLogger, metrics: new Metrics() });
await d.start(new StateCommitter(state));
let peakRss = 0;
let peakBuffered = 0;
const note = 'n'.repeat(600);
let seq = 1;
for (let round = 0; round < PER; round++) {
  for (let p = 0; p < PARTITIONS; p += 500) {
    const evs = Array.from({ length: 500 }, (_, i) => orderChange(round * PARTITIONS + p + i + 1, 'insert', undefined, { customer: `cust-${p + i}`, note }));
    await d.write('s', records('s', evs, seq));
    seq += evs.length;
    peakBuffered = Math.max(peakBuffered, d.openPartitions.bytes);
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }
}
await d.flush();
await d.close();
process.stdout.write(JSON.stringify({ records: seq - 1, peakRssMiB: peakRss / 1048576, peakBufferedMiB: peakBuffered / 1048576, budgetMiB, heapLimitMiB: (await import('node:v8')).getHeapStatistics().heap_size_limit / 1048576 }) + '\n');
