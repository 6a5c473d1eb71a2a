/**
 * Where records that cannot be processed go: one JSON object per record under
 * `errors/<component>/processing-failed/YYYY/MM/DD/HH/<name>.json` in the lake, holding the raw
 * record (base64), the reason, attempts, timestamps and the transform that failed it. The
 * component is the edge's end, like Firehose's per-stream prefix: the delivery for records
 * its decoding or a delivery-edge transform failed, the source for source-edge transforms. Object names are deterministic (the
 * stream shard and sequence, or the source position), so reprocessing after a crash rewrites
 * the same object instead of reporting the record twice.
 */
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import type { ObjectStore } from '../lake/object-store.ts';

/** One failed record. */
export interface FailedRecord {
  /** The delivery or source whose edge failed the record: the prefix `errors/<component>/`. */
  readonly component: string;
  /** The transform that failed the record; absent when it was not a transform (e.g. decoding). */
  readonly transform?: string;
  /** Unique, stable name within the component, e.g. `<shard>-<sequence>` or the source position. */
  readonly id: string;
  readonly raw: Uint8Array;
  readonly reason: string;
  readonly attempts: number;
  /** Epoch ms when the record arrived. */
  readonly arrivalTime: number;
  /** Extra context (stream, shard, sequence, partition key). */
  readonly context?: Readonly<Record<string, string>>;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** Writes failed records into the lake's error prefix. */
export class ErrorSink {
  readonly #lake: ObjectStore;
  readonly #logger: Logger;
  readonly #metrics: Metrics;

  constructor(lake: ObjectStore, logger: Logger, metrics: Metrics) {
    this.#lake = lake;
    this.#logger = logger;
    this.#metrics = metrics;
  }

  /** The object key a failed record is written to. */
  static keyOf(f: Pick<FailedRecord, 'component' | 'id' | 'arrivalTime'>): string {
    const d = new Date(f.arrivalTime);
    const safe = f.id.replace(/[^A-Za-z0-9._-]/g, '_');
    return `errors/${f.component}/processing-failed/${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}/${pad(d.getUTCHours())}/${safe}.json`;
  }

  /** Stores the failed records (durably, before the caller moves past them). */
  async write(failed: readonly FailedRecord[]): Promise<void> {
    for (const f of failed) {
      const key = ErrorSink.keyOf(f);
      const body = JSON.stringify({
        component: f.component,
        ...(f.transform === undefined ? {} : { transform: f.transform }),
        reason: f.reason,
        attempts: f.attempts,
        arrivalTime: new Date(f.arrivalTime).toISOString(),
        failedAt: new Date().toISOString(),
        ...f.context,
        rawData: Buffer.from(f.raw.buffer, f.raw.byteOffset, f.raw.byteLength).toString('base64'),
      });
      await this.#lake.put(key, Buffer.from(body, 'utf8'), { contentType: 'application/json' });
      this.#metrics.inc('hydrant_errors_total', 'Records that failed processing and went to the lake error prefix.', { component: f.component, kind: 'processing_failed', transform: f.transform ?? '' });
      this.#logger.warn('record failed processing; stored in the lake error prefix', { component: f.component, transform: f.transform, object: key, reason: f.reason.slice(0, 200) });
    }
  }
}
