/**
 * `file` delivery: newline-delimited JSON of envelopes (lossless value codec), one file per
 * (shard, first..last sequence) under `<path>/<shard>/`.
 *
 * Exactly-once files: a file is written to a temp name, fsync'd, renamed into place and the
 * directory fsync'd; only then is the consumer checkpoint advanced (`committer.commit`). A crash
 * between the rename and the commit leaves a complete file whose records the runner hands over
 * again. Before starting a new file at sequence F the delivery looks for an existing file that
 * starts at F (it can only be such an uncommitted leftover) and cuts the new file at that
 * file's last sequence, so the retry rewrites the identical file instead of adding one that
 * overlaps it. Time-based cuts are therefore never applied to such a "pinned" buffer.
 *
 * Memory: at most `max_records` records / about `max_bytes` bytes buffered per shard.
 */
import { mkdir, open, readdir, rename, unlink } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { envelopeToJson } from '../../core/change-event.ts';
import type { ComponentDescriptor } from '../../core/component.ts';
import { crashPoint } from '../../core/crash.ts';
import { fsyncDir } from '../../core/fs-sync.ts';
import { HydrantError } from '../../core/errors.ts';
import { byteSize, duration } from '../../config/units.ts';
import type { Logger } from '../../core/logger.ts';
import type { Metrics } from '../../core/metrics.ts';
import type { Delivery, DeliveryCommitter, DeliveryRecord } from '../delivery.ts';
import { outputFileName, parseOutputFileName, TEMP_PREFIX } from './file-names.ts';

const config = z.strictObject({
  path: z.string().min(1).optional().describe('Output directory; relative paths resolve against the data directory. Default: `<data_dir>/files/<delivery name>`.'),
  max_records: z.number().int().min(1).max(10_000_000).default(10_000).describe('A file is cut after this many records.'),
  max_bytes: byteSize().prefault('16MiB').describe('A file is cut once its buffered JSON reaches about this size.'),
  max_age: duration().prefault('1s').describe('A non-empty buffer older than this is written out; 0 = only by size or flush.'),
});

/** The file delivery's config. */
export type FileDeliveryConfig = z.output<typeof config>;

/** Writing an output file failed. */
export class FileDeliveryError extends HydrantError {
  constructor(message: string, cause: unknown) {
    super('FILE_DELIVERY_FAILED', message, { cause });
  }
}

interface ShardBuffer {
  lines: string[];
  bytes: number;
  first: string | null;
  last: string | null;
  openedAt: number;
  /** Last sequence of an existing (uncommitted) file starting at `first`: cut exactly there. */
  pinned: string | null;
  /** first sequence (normalized) -> last sequence of files found on disk at first use. */
  existing: Map<string, string> | undefined;
  /** Serializes writes, timer flushes and flush() per shard. */
  chain: Promise<void>;
}

function norm(seq: string): string {
  return BigInt(seq).toString();
}


/** The file delivery. */
export class FileDelivery implements Delivery {
  readonly #name: string;
  readonly #dir: string;
  readonly #cfg: FileDeliveryConfig;
  readonly #logger: Logger;
  readonly #metrics: Metrics;
  readonly #shards = new Map<string, ShardBuffer>();
  #committer: DeliveryCommitter | undefined;
  #timer: NodeJS.Timeout | undefined;
  #failure: unknown;

  constructor(name: string, dir: string, cfg: FileDeliveryConfig, logger: Logger, metrics: Metrics) {
    this.#name = name;
    this.#dir = dir;
    this.#cfg = cfg;
    this.#logger = logger;
    this.#metrics = metrics;
  }

  /** The output directory. */
  get directory(): string {
    return this.#dir;
  }

  async start(committer: DeliveryCommitter): Promise<void> {
    this.#committer = committer;
    await mkdir(this.#dir, { recursive: true });
    if (this.#cfg.max_age > 0) {
      this.#timer = setInterval(() => this.#flushAged(), Math.max(10, Math.floor(this.#cfg.max_age / 2)));
      this.#timer.unref();
    }
  }

  write(shardId: string, records: readonly DeliveryRecord[]): Promise<void> {
    // A timed write failed in the background: surface it instead of buffering more.
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    return this.#enqueue(shardId, async (b) => {
      for (const r of records) {
        const seq = r.record.sequence;
        if (b.pinned !== null && BigInt(seq) > BigInt(b.pinned)) {
          // The old file's range does not line up with what we now read (e.g. transforms
          // changed); it was never committed, so remove it rather than duplicate records.
          await this.#removeStale(shardId, b);
        }
        if (b.first === null) {
          b.first = seq;
          b.openedAt = Date.now();
          const known = b.existing?.get(norm(seq));
          b.pinned = known ?? null;
        }
        const line = envelopeToJson(r.envelope);
        b.lines.push(line);
        b.bytes += Buffer.byteLength(line) + 1;
        b.last = seq;
        const full = b.pinned !== null ? BigInt(seq) === BigInt(b.pinned) : b.lines.length >= this.#cfg.max_records || b.bytes >= this.#cfg.max_bytes;
        if (full) await this.#writeOut(shardId, b);
      }
    });
  }

  async flush(): Promise<void> {
    await Promise.all([...this.#shards.keys()].map((s) => this.#enqueue(s, (b) => this.#flushShard(s, b))));
    if (this.#failure !== undefined) throw this.#failure;
  }

  async close(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await Promise.all([...this.#shards.values()].map((b) => b.chain.catch(() => {})));
  }

  #enqueue(shardId: string, fn: (b: ShardBuffer) => Promise<void>): Promise<void> {
    let b = this.#shards.get(shardId);
    if (b === undefined) {
      b = { lines: [], bytes: 0, first: null, last: null, openedAt: 0, pinned: null, existing: undefined, chain: Promise.resolve() };
      this.#shards.set(shardId, b);
    }
    const buf = b;
    const run = buf.chain.then(async () => {
      if (buf.existing === undefined) buf.existing = await this.#scan(shardId);
      await fn(buf);
    });
    buf.chain = run.catch(() => {});
    return run;
  }

  async #flushShard(shardId: string, b: ShardBuffer): Promise<void> {
    if (b.lines.length === 0) return;
    // A pinned buffer must end where the leftover file ends; the records up to there are
    // durable in the stream and will be read again after a restart.
    if (b.pinned !== null) {
      this.#logger.debug('file delivery: not flushing a buffer pinned to an earlier file boundary', { shard: shardId, first: b.first, pinned: b.pinned });
      return;
    }
    await this.#writeOut(shardId, b);
  }

  #flushAged(): void {
    const now = Date.now();
    for (const [shardId, b] of this.#shards) {
      if (b.lines.length > 0 && b.pinned === null && now - b.openedAt >= this.#cfg.max_age) {
        this.#enqueue(shardId, (x) => (x.lines.length > 0 && x.pinned === null && Date.now() - x.openedAt >= this.#cfg.max_age ? this.#writeOut(shardId, x) : Promise.resolve())).catch((err: unknown) => {
          this.#failure = err;
          this.#logger.error('file delivery: timed write failed', { shard: shardId, error: err });
        });
      }
    }
  }

  /** Lists files of a shard (uncommitted leftovers are among them) and removes stale temp files. */
  async #scan(shardId: string): Promise<Map<string, string>> {
    const dir = join(this.#dir, shardId);
    await mkdir(dir, { recursive: true });
    const out = new Map<string, string>();
    for (const name of await readdir(dir)) {
      if (name.startsWith(TEMP_PREFIX)) {
        await unlink(join(dir, name)).catch(() => {});
        continue;
      }
      const p = parseOutputFileName(this.#name, shardId, name);
      if (p !== undefined) out.set(norm(p.first), p.last);
    }
    return out;
  }

  async #removeStale(shardId: string, b: ShardBuffer): Promise<void> {
    const name = outputFileName(this.#name, shardId, b.first as string, b.pinned as string);
    this.#logger.warn('file delivery: removing an uncommitted file whose range no longer matches the stream', { shard: shardId, file: name });
    await unlink(join(this.#dir, shardId, name)).catch(() => {});
    b.existing?.delete(norm(b.first as string));
    b.pinned = null;
  }

  async #writeOut(shardId: string, b: ShardBuffer): Promise<void> {
    const first = b.first as string;
    const last = b.last as string;
    const dir = join(this.#dir, shardId);
    const name = outputFileName(this.#name, shardId, first, last);
    const body = b.lines.join('\n') + '\n';
    const tmp = join(dir, `${TEMP_PREFIX}${name}`);
    try {
      const fh = await open(tmp, 'w');
      try {
        await fh.writeFile(body);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, join(dir, name));
      await fsyncDir(dir);
    } catch (err) {
      throw new FileDeliveryError(`file delivery "${this.#name}": could not write ${join(dir, name)}: ${(err as Error).message}. Check free space and permissions of the output directory.`, err);
    }
    crashPoint('file.after-rename-before-commit');
    await (this.#committer as DeliveryCommitter).commit(shardId, last);
    this.#metrics.inc('hydrant_file_delivery_files_total', 'Files written by file deliveries.', { delivery: this.#name });
    this.#metrics.inc('hydrant_delivery_bytes_written_total', 'Bytes of output committed by deliveries.', { delivery: this.#name }, Buffer.byteLength(body));
    b.existing?.delete(norm(first));
    b.lines = [];
    b.bytes = 0;
    b.first = null;
    b.last = null;
    b.pinned = null;
  }
}

/** Descriptor of the `file` delivery. */
export const fileDelivery: ComponentDescriptor<typeof config, Delivery> = {
  kind: 'file',
  summary: 'Newline-delimited JSON envelopes in local files, one per shard and sequence range, written exactly once.',
  config,
  create: (cfg, ctx) => {
    const dir = cfg.path === undefined ? join(ctx.dataDir, 'files', ctx.name) : isAbsolute(cfg.path) ? cfg.path : resolve(ctx.dataDir, cfg.path);
    return new FileDelivery(ctx.name, dir, cfg, ctx.logger, ctx.metrics);
  },
};
