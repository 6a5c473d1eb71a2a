/**
 * A seeded CDC workload for current-state tests: a simulated source table (the truth) and the
 * change events a CDC source would emit for it — inserts, updates with TOAST-unchanged columns,
 * primary-key changes (as an update with the old key in `before`, or as delete + insert),
 * deletes, truncates and re-snapshots. The truth is kept independently of the merge code, so
 * comparing a merged table with {@link Workload.truth} checks the merge, not itself.
 */
import type { ChangeEvent, ChangeOp } from '../../../src/core/change-event.ts';
import type { TableSchema } from '../../../src/core/schema.ts';
import { DateValue, Decimal, Timestamp, type Row } from '../../../src/core/values.ts';

/** Small deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The workload's table: a composite key and columns of the types current-state files map. */
export const workloadSchema: TableSchema = {
  source: 'gen',
  database: 'app',
  schema: 'public',
  table: 'accounts',
  version: 1,
  primaryKey: ['tenant', 'id'],
  columns: [
    { name: 'tenant', type: { kind: 'int32' }, nullable: false },
    { name: 'id', type: { kind: 'int64' }, nullable: false },
    { name: 'name', type: { kind: 'string' }, nullable: true },
    { name: 'amount', type: { kind: 'decimal', precision: 20, scale: 2 }, nullable: true },
    { name: 'score', type: { kind: 'float64' }, nullable: true },
    { name: 'active', type: { kind: 'boolean' }, nullable: true },
    { name: 'born', type: { kind: 'date' }, nullable: true },
    { name: 'updated_at', type: { kind: 'timestamptz' }, nullable: true },
    { name: 'doc', type: { kind: 'string' }, nullable: true },
    { name: 'blob', type: { kind: 'bytes' }, nullable: true },
  ],
};

/** Columns the simulated source may report as `unchanged` (TOAST). */
const TOASTABLE = ['doc', 'blob'];

export interface WorkloadOptions {
  readonly seed: number;
  /** Mix weights; defaults give a busy table with occasional truncates and re-snapshots. */
  readonly truncateRate?: number;
  readonly resnapshotRate?: number;
  /** Send TOAST-unchanged columns as `unchanged` (default true). */
  readonly toast?: boolean;
  /** Send some key changes as an update with the old key in `before` (default true); otherwise always delete + insert. */
  readonly keyChangeAsUpdate?: boolean;
}

export class Workload {
  /** The source table as it is now: key string → row. */
  readonly truth = new Map<string, Row>();
  readonly #rand: () => number;
  readonly #truncateRate: number;
  readonly #resnapshotRate: number;
  readonly #toast: boolean;
  readonly #keyChangeAsUpdate: boolean;
  #pos = 0;
  #nextId = 1n;

  constructor(options: WorkloadOptions) {
    this.#rand = rng(options.seed);
    this.#truncateRate = options.truncateRate ?? 0.002;
    this.#resnapshotRate = options.resnapshotRate ?? 0.002;
    this.#toast = options.toast ?? true;
    this.#keyChangeAsUpdate = options.keyChangeAsUpdate ?? true;
  }

  /** Position of the last emitted event. */
  get position(): string {
    return pos(this.#pos);
  }

  /** Produces the next `n` (or a few more: re-snapshots and delete+insert emit several) events. */
  next(n: number): ChangeEvent[] {
    const out: ChangeEvent[] = [];
    while (out.length < n) this.#step(out);
    return out;
  }

  #step(out: ChangeEvent[]): void {
    const r = this.#rand();
    const keys = [...this.truth.keys()];
    if (r < this.#truncateRate) {
      this.truth.clear();
      out.push(this.#event('truncate', {}, null, null));
      return;
    }
    if (r < this.#truncateRate + this.#resnapshotRate) {
      for (const row of this.truth.values()) out.push(this.#event('snapshot', keyOf(row), null, { ...row }));
      return;
    }
    if (keys.length < 5 || r < 0.35) {
      const row = this.#newRow(this.#randomTenant(), this.#nextId++);
      this.truth.set(keyStr(row), row);
      out.push(this.#event('insert', keyOf(row), null, { ...row }));
      return;
    }
    const k = keys[Math.floor(this.#rand() * keys.length)] as string;
    const old = this.truth.get(k) as Row;
    if (r < 0.75) {
      const row = this.#mutate(old);
      const unchanged = this.#rand() < 0.4 && this.#toast ? TOASTABLE.filter(() => this.#rand() < 0.7) : [];
      for (const c of unchanged) row[c] = old[c] ?? null;
      this.truth.set(k, row);
      out.push(this.#event('update', keyOf(row), this.#rand() < 0.5 ? keyOf(old) : null, this.#withoutUnchanged(row, unchanged), unchanged));
      return;
    }
    if (r < 0.83) {
      // Primary-key change: a new id (and sometimes a new tenant) for the same row.
      const row = this.#mutate(old);
      row['id'] = this.#nextId++;
      if (this.#rand() < 0.3) row['tenant'] = this.#randomTenant();
      this.truth.delete(k);
      this.truth.set(keyStr(row), row);
      const unchanged = this.#rand() < 0.4 && this.#toast ? TOASTABLE.filter(() => this.#rand() < 0.5) : [];
      for (const c of unchanged) row[c] = old[c] ?? null;
      if (this.#rand() < 0.6 && this.#keyChangeAsUpdate) {
        out.push(this.#event('update', keyOf(row), keyOf(old), this.#withoutUnchanged(row, unchanged), unchanged));
      } else {
        // As the PostgreSQL source sends it: delete + insert in one transaction, TOAST values unsent.
        // One transaction: one txId and one commit time (change objects carry only the latter).
        const tx = `kc${this.#pos}`;
        const del = this.#event('delete', keyOf(old), keyOf(old), null, [], tx);
        out.push(del);
        out.push({ ...this.#event('insert', keyOf(row), null, this.#withoutUnchanged(row, unchanged), unchanged, tx), source: { ...del.source, position: pos(this.#pos) } });
      }
      return;
    }
    this.truth.delete(k);
    out.push(this.#event('delete', keyOf(old), this.#rand() < 0.5 ? { ...old } : null, null));
  }

  #withoutUnchanged(row: Row, unchanged: readonly string[]): Row {
    const after: Row = { ...row };
    // Sources differ: some leave TOAST columns out of the new image, some send null.
    for (const c of unchanged) {
      if (this.#rand() < 0.5) delete after[c];
      else after[c] = null;
    }
    return after;
  }

  #event(op: ChangeOp, key: Row, before: Row | null, after: Row | null, unchanged: readonly string[] = [], txId?: string): ChangeEvent {
    this.#pos++;
    return {
      op,
      source: { kind: 'generator', name: 'gen', database: 'app', schema: 'public', table: 'accounts', position: pos(this.#pos), txId: txId ?? `t${this.#pos}`, commitTime: Timestamp.fromMillis(1_700_000_000_000 + this.#pos) },
      key,
      before,
      after,
      ...(unchanged.length > 0 ? { unchanged } : {}),
      schemaVersion: 1,
    };
  }

  #randomTenant(): number {
    return 1 + Math.floor(this.#rand() * 4);
  }

  #newRow(tenant: number, id: bigint): Row {
    return this.#mutate({ tenant, id, doc: this.#text(200), blob: this.#bytes() });
  }

  #mutate(old: Row): Row {
    const r = this.#rand;
    const row: Row = { ...old };
    row['name'] = r() < 0.1 ? null : `name-${Math.floor(r() * 1e6)}`;
    row['amount'] = r() < 0.1 ? null : new Decimal(`${Math.floor(r() * 1e9) - 5e8}.${String(Math.floor(r() * 100)).padStart(2, '0')}`);
    const s = r();
    row['score'] = s < 0.05 ? NaN : s < 0.08 ? -Infinity : s < 0.1 ? null : (r() - 0.5) * 1e6;
    row['active'] = r() < 0.1 ? null : r() < 0.5;
    row['born'] = r() < 0.1 ? null : new DateValue(Math.floor(r() * 40000) - 20000);
    row['updated_at'] = new Timestamp(BigInt(Math.floor(r() * 2e15)) + 1_000_000_000_000_000n, true);
    if (r() < 0.3) row['doc'] = r() < 0.1 ? null : this.#text(50 + Math.floor(r() * 300));
    if (r() < 0.3) row['blob'] = this.#bytes();
    return row;
  }

  #text(n: number): string {
    let s = '';
    while (s.length < n) s += Math.floor(this.#rand() * 36 ** 6).toString(36) + (this.#rand() < 0.05 ? 'é"\n' : ' ');
    return s.slice(0, n);
  }

  #bytes(): Uint8Array {
    const b = new Uint8Array(Math.floor(this.#rand() * 40));
    for (let i = 0; i < b.length; i++) b[i] = Math.floor(this.#rand() * 256);
    return b;
  }
}

function pos(n: number): string {
  return `${n.toString(16).padStart(16, '0')}/00000000`;
}

function keyOf(row: Row): Row {
  return { tenant: row['tenant'] ?? null, id: row['id'] ?? null };
}

/** Key string used by the workload's truth map (independent of the merge code's own). */
export function keyStr(row: Row): string {
  return `${String(row['tenant'])}:${String(row['id'])}`;
}

/** Picks the seed from `HYDRANT_TEST_SEED` or the clock, and prints it so a failure can be replayed. */
export function testSeed(label: string): number {
  const env = process.env['HYDRANT_TEST_SEED'];
  const seed = env === undefined ? Date.now() % 2 ** 31 : Number(env);
  console.log(`# ${label}: seed ${seed} (rerun with HYDRANT_TEST_SEED=${seed})`);
  return seed;
}

/** The batches of a crash test and the source's state after each one (deterministic in `seed`). */
export function crashBatches(seed: number, count: number, size: number): Array<{ events: ChangeEvent[]; truth: Row[] }> {
  const w = new Workload({ seed, truncateRate: 0.001, resnapshotRate: 0.001 });
  const out: Array<{ events: ChangeEvent[]; truth: Row[] }> = [];
  for (let i = 0; i < count; i++) {
    const events = w.next(size);
    out.push({ events, truth: [...w.truth.values()].map((r) => ({ ...r })) });
  }
  return out;
}
