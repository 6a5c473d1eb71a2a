/**
 * Writes one buffer as lake object(s) with exactly-once visibility:
 *
 * 1. the rows are formatted into a local temporary file (rows that fail go to an errors object);
 * 2. an intent naming every key about to be written is committed to the state store;
 * 3. the objects are uploaded (fs: rename of the fsync'd file; S3: PutObject or multipart
 *    completed at the end);
 * 4. the caller commits the returned ops — catalog entries + deletion of the intent — in the
 *    same state transaction that advances the consumer checkpoint.
 *
 * On start {@link ObjectWriter.recover} deletes every object of a recorded-but-uncommitted
 * intent (its records were not checkpointed, so they are read and written again), so no
 * listing ever shows an orphan or a duplicate.
 */
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crashPoint } from '../../core/crash.ts';
import type { Logger } from '../../core/logger.ts';
import { FsObjectStore } from '../../lake/fs/fs-object-store.ts';
import type { ObjectStore } from '../../lake/object-store.ts';
import { S3ObjectStore } from '../../lake/s3/s3-object-store.ts';
import { padSequence, registerObject, type CatalogObject, type ObjectKind } from '../../lake/catalog/catalog.ts';
import type { StateOp, StateStore, StateValue } from '../../state/state-store.ts';
import type { StreamRecord } from '../../stream/stream-log.ts';
import { compressionSuffix, type Compression } from '../compression.ts';
import type { FormatWriter, OutputColumn, RowSource } from '../formats/format.ts';

const SMALL_OBJECT = 5 * 1024 * 1024;

/** Everything needed to write one buffer. */
export interface ObjectSpec {
  readonly shard: string;
  readonly buffer: string;
  /** Hash of the routing settings that produced `buffer`. */
  readonly routing: string;
  readonly kind: Exclude<ObjectKind, 'errors'>;
  readonly table: string;
  /** Full object key without extension. */
  readonly keyBase: string;
  readonly partition: Readonly<Record<string, string>>;
  readonly schemaVersion: number;
  readonly columns: readonly OutputColumn[];
  readonly rows: RowSource;
  readonly records: readonly StreamRecord[];
  readonly first: string;
  readonly last: string;
  readonly minTime: number;
  readonly maxTime: number;
}

/** Intent record: keys that may exist without being in the catalog yet. */
interface Intent {
  readonly keys: string[];
  readonly createdAt: number;
}

export class ObjectWriter {
  readonly #store: ObjectStore;
  readonly #state: StateStore;
  readonly #format: FormatWriter;
  readonly #compression: Compression;
  readonly #delivery: string;
  readonly #tmpDir: string;
  readonly #logger: Logger;
  readonly #csvHeader: boolean | undefined;
  #n = 0;

  constructor(o: { store: ObjectStore; state: StateStore; format: FormatWriter; compression: Compression; delivery: string; dataDir: string; logger: Logger; csvHeader?: boolean }) {
    this.#csvHeader = o.format.extension === 'csv' ? (o.csvHeader ?? true) : undefined;
    this.#store = o.store;
    this.#state = o.state;
    this.#format = o.format;
    this.#compression = o.compression;
    this.#delivery = o.delivery;
    this.#tmpDir = join(o.dataDir, 'tmp', `lake-${o.delivery}`);
    this.#logger = o.logger;
  }

  /** File extension of data objects, e.g. `.parquet` or `.jsonl.gz`. */
  get extension(): string {
    return `.${this.#format.extension}${this.#format.extension === 'parquet' ? '' : compressionSuffix(this.#compression)}`;
  }

  #intentKey(shard: string, first: string): string {
    return `intents/${this.#delivery}/${shard}/${padSequence(first)}`;
  }

  /** Finishes a crashed run: deletes objects of every uncommitted intent. Returns how many. */
  async recover(): Promise<number> {
    const intents = await this.#state.list(`intents/${this.#delivery}/`);
    for (const { key, value } of intents) {
      const intent = value as unknown as Intent;
      for (const k of intent.keys) {
        if (this.#store instanceof S3ObjectStore) await this.#store.abortUploads(k);
        await this.#store.delete(k);
      }
      await this.#state.commit([{ type: 'delete', key }]);
      this.#logger.info('lake: removed uncommitted objects of an interrupted write; their records are written again', { keys: intent.keys });
    }
    await rm(this.#tmpDir, { recursive: true, force: true });
    // Formatted files of a crashed run in the local lake's temp directory (never listed, but
    // they take space).
    if (this.#store instanceof FsObjectStore) {
      const dir = await this.#store.tempDir();
      for (const f of await readdir(dir)) if (f.startsWith(`${this.#delivery}-`)) await rm(join(dir, f), { force: true });
    }
    return intents.length;
  }

  /**
   * Writes the objects of one buffer and returns the state ops that commit them (catalog
   * entries + intent deletion) together with the catalog entries.
   */
  async write(s: ObjectSpec): Promise<{ ops: StateOp[]; objects: CatalogObject[] }> {
    const tmpDir = this.#store instanceof FsObjectStore ? await this.#store.tempDir() : this.#tmpDir;
    await mkdir(tmpDir, { recursive: true });
    const file = join(tmpDir, `${this.#delivery}-${process.pid}-${++this.#n}.out`);
    const errFile = file + '.errors';
    const key = `${s.keyBase}${this.extension}`;
    try {
      const res = await this.#format.write(s.columns, s.rows, file, this.#compression);
      const objects: CatalogObject[] = [];
      const base = { delivery: this.#delivery, shard: s.shard, buffer: s.buffer, routing: s.routing, schemaVersion: s.schemaVersion, firstSequence: s.first, lastSequence: s.last, minTime: s.minTime, maxTime: s.maxTime, committedAt: Date.now() };
      let errKey: string | undefined;
      if (res.failed.length > 0) {
        const d = new Date(s.minTime);
        const p = (n: number): string => String(n).padStart(2, '0');
        errKey = `errors/${this.#delivery}/format-conversion-failed/${d.getUTCFullYear()}/${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())}/${p(d.getUTCHours())}/${this.#delivery}-${s.shard}-${s.first}-${s.last}.jsonl`;
        const now = new Date().toISOString();
        const lines = res.failed.map((f) => {
          const r = s.records[f.index] as StreamRecord;
          return JSON.stringify({ delivery: this.#delivery, table: s.table, shard: r.shardId, sequence: r.sequence, partitionKey: r.partitionKey, arrivalTime: new Date(r.arrivalTime).toISOString(), failedAt: now, attempts: 1, error: f.error, rawData: Buffer.from(r.data).toString('base64') });
        });
        await writeFile(errFile, lines.join('\n') + '\n');
      }
      const keys = res.rows > 0 ? [key] : [];
      if (errKey !== undefined) keys.push(errKey);
      const intentKey = this.#intentKey(s.shard, s.first);
      // A failed earlier attempt of this buffer (it may have grown since) left its intent:
      // remove what it wrote before replacing the intent, or it would become an orphan.
      const earlier = (await this.#state.get(intentKey)) as unknown as Intent | undefined;
      if (earlier !== undefined) for (const k of earlier.keys) if (!keys.includes(k)) await this.#store.delete(k);
      await this.#state.commit([{ type: 'put', key: intentKey, value: { keys, createdAt: Date.now() } satisfies Intent as unknown as StateValue }]);
      if (res.rows > 0) {
        const { size } = await this.#upload(key, file);
        objects.push({ ...base, key, kind: s.kind, table: s.table, partition: s.partition, format: this.#format.extension, compression: this.#compression, ...(this.#csvHeader === undefined ? {} : { csvHeader: this.#csvHeader }), rows: res.rows, bytes: size });
      }
      if (errKey !== undefined) {
        const { size } = await this.#upload(errKey, errFile);
        objects.push({ ...base, key: errKey, kind: 'errors', table: this.#delivery, partition: {}, format: 'jsonl', compression: 'none', rows: res.failed.length, bytes: size });
        this.#logger.warn('lake: records failed format conversion and were written to the errors prefix', { key: errKey, count: res.failed.length, first: res.failed[0]?.error });
      }
      crashPoint('lake.after-upload-before-catalog');
      return { ops: [...objects.map(registerObject), { type: 'delete', key: intentKey }], objects };
    } finally {
      await rm(file, { force: true });
      await rm(errFile, { force: true });
    }
  }

  async #upload(key: string, file: string): Promise<{ size: number }> {
    if (this.#store instanceof FsObjectStore) return this.#store.adoptFile(key, file);
    const size = (await stat(file)).size;
    const ct = key.endsWith('.parquet') ? 'application/vnd.apache.parquet' : undefined;
    // Small objects are one PutObject; larger ones stream through multipart upload.
    const body = size <= SMALL_OBJECT ? new Uint8Array(await readFile(file)) : createReadStream(file, { highWaterMark: 1024 * 1024 });
    await this.#store.put(key, body, ct === undefined ? undefined : { contentType: ct });
    return { size };
  }
}
