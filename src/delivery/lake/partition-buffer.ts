/** One open output partition: the rows waiting to become one object. */
import type { Row } from '../../core/values.ts';
import type { StreamRecord } from '../../stream/stream-log.ts';
import type { TableSchema } from '../../core/schema.ts';

export class PartitionBuffer {
  /** Buffer identity: prefix + table + schema version (same on every replay of the records). */
  readonly id: string;
  readonly shard: string;
  readonly prefix: string;
  readonly kind: 'changes' | 'events';
  readonly table: string;
  readonly schemaVersion: number;
  readonly schema: TableSchema | null;
  /** Commit time of the first change (DMS object names). */
  readonly firstCommitMicros: bigint | undefined;
  readonly isLoad: boolean;
  readonly createdAt: number;
  readonly rows: Row[] = [];
  readonly records: StreamRecord[] = [];
  /** Estimated memory held, bytes. */
  bytes = 0;
  minTime = Infinity;
  maxTime = -Infinity;

  constructor(o: { id: string; shard: string; prefix: string; kind: 'changes' | 'events'; table: string; schemaVersion: number; schema: TableSchema | null; firstCommitMicros: bigint | undefined; isLoad: boolean; now: number }) {
    this.id = o.id;
    this.shard = o.shard;
    this.prefix = o.prefix;
    this.kind = o.kind;
    this.table = o.table;
    this.schemaVersion = o.schemaVersion;
    this.schema = o.schema;
    this.firstCommitMicros = o.firstCommitMicros;
    this.isLoad = o.isLoad;
    this.createdAt = o.now;
  }

  get first(): string {
    return (this.records[0] as StreamRecord).sequence;
  }

  get last(): string {
    return (this.records[this.records.length - 1] as StreamRecord).sequence;
  }

  add(record: StreamRecord, row: Row, time: number): void {
    this.records.push(record);
    this.rows.push(row);
    // Decoded rows take a few times their JSON size in V8; this estimate keeps the budget honest.
    this.bytes += record.data.byteLength * 3 + 64;
    if (time < this.minTime) this.minTime = time;
    if (time > this.maxTime) this.maxTime = time;
  }
}
