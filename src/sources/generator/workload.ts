/**
 * The generator's deterministic e-commerce workload. Each step is one transaction of one or
 * more row changes (an order is inserted with its items in one transaction); every change gets
 * the next event number, which is its position. Everything comes from one seeded {@link Prng},
 * so the same seed always yields the same events, and resuming after position P regenerates
 * from the start and skips to P.
 *
 * Proportions (after a bootstrap of 20 customers and 10 products), by transaction:
 * order placed 25%, order status change 30%, customer insert 12%, product price/stock change
 * 10%, customer update 6%, product insert 3%, item removed from a pending order 2%, customer
 * delete 1%, old order deleted 1% (plus its items). At most 5,000 customers, 2,000 products
 * and 10,000 orders (with their items) are remembered; older rows go cold (see LIVE_CAP).
 */
import type { ChangeEvent, ChangeOp } from '../../core/change-event.ts';
import { DateValue, Decimal, Timestamp, type Row } from '../../core/values.ts';
import { Prng } from './prng.ts';
import type { TableName } from './tables.ts';
import {
  AREA_CODES, CITIES, EMAIL_DOMAINS, FIRST_NAMES, LAST_NAMES, PRODUCT_ADJECTIVES, PRODUCT_NOUNS, STREET_NAMES, STREET_SUFFIXES, type OrderStatus,
} from './words.ts';

/** Width of generator positions: zero-padded event numbers compare correctly as strings. */
export const POSITION_WIDTH = 16;

/** Formats event number `n` as a position. */
export function formatPosition(n: number): string {
  return String(n).padStart(POSITION_WIDTH, '0');
}

/** Where the generated events say they come from. */
export interface WorkloadOrigin {
  readonly source: string;
  readonly database: string;
  readonly schema: string;
  /** Commit time of the first transaction, epoch ms. */
  readonly startMillis: number;
}

/** A set of rows by id with O(1) random pick and delete (order of picks stays deterministic). */
class RowSet {
  // Keyed by Number(id) (ids stay far below 2^53): V8 hashes numbers much faster than bigints.
  #rows = new Map<number, Row>();
  readonly #ids: bigint[] = [];
  readonly #index = new Map<number, number>();
  #deletes = 0;

  get size(): number {
    return this.#ids.length;
  }
  get(id: bigint): Row | undefined {
    return this.#rows.get(Number(id));
  }
  set(id: bigint, row: Row): void {
    const k = Number(id);
    if (!this.#rows.has(k)) {
      this.#index.set(k, this.#ids.length);
      this.#ids.push(id);
    }
    this.#rows.set(k, row);
  }
  delete(id: bigint): void {
    const k = Number(id);
    const i = this.#index.get(k);
    if (i === undefined) return;
    const last = this.#ids.pop() as bigint;
    if (last !== id) {
      this.#ids[i] = last;
      this.#index.set(Number(last), i);
    }
    this.#index.delete(k);
    this.#rows.delete(k);
    // V8 leaves deleted Map entries as holes until it rehashes, and oldest() walks over every
    // hole at the front (the oldest rows are the ones deleted): copy the Map (same order) now
    // and then, so that walk stays short.
    if (++this.#deletes > this.#rows.size + 256) {
      this.#rows = new Map(this.#rows);
      this.#deletes = 0;
    }
  }
  pick(rng: Prng): bigint {
    return rng.pick(this.#ids);
  }
  /** The id inserted longest ago that is still here (Map keeps insertion order). */
  oldest(): bigint | undefined {
    const k = this.#rows.keys().next().value;
    return k === undefined ? undefined : BigInt(k);
  }
}

/**
 * Most rows the workload remembers per table. Beyond that the oldest rows go "cold": they are
 * forgotten without an event and never updated again, so memory stays bounded however many
 * events are generated (count: 0 runs forever).
 */
const LIVE_CAP = { customers: 5000, products: 2000, orders: 10_000 } as const;

function cents(c: number): Decimal {
  return new Decimal(`${Math.floor(c / 100)}.${String(c % 100).padStart(2, '0')}`);
}

function toCents(d: Decimal): number {
  const [i, f = ''] = d.text.split('.');
  return Number(i) * 100 + Number(f.padEnd(2, '0'));
}

/** Generates the workload one event at a time. */
export class Workload {
  readonly #rng: Prng;
  readonly #origin: WorkloadOrigin;
  readonly #customers = new RowSet();
  readonly #products = new RowSet();
  readonly #orders = new RowSet();
  readonly #items = new RowSet();
  /** Item ids per order id. */
  readonly #orderItems = new Map<bigint, bigint[]>();
  readonly #pending: ChangeEvent[] = [];
  #nextId = { customers: 1n, products: 1n, orders: 1n, order_items: 1n };
  #micros: bigint;
  #tx = 0;
  #events = 0;
  #txTime!: Timestamp;

  constructor(seed: number, origin: WorkloadOrigin) {
    this.#rng = new Prng(seed);
    this.#origin = origin;
    this.#micros = BigInt(origin.startMillis) * 1000n;
  }

  /** Number of events produced so far (= position of the last one). */
  get produced(): number {
    return this.#events;
  }

  /** The next event. */
  next(): ChangeEvent {
    while (this.#pending.length === 0) this.#transaction();
    this.#events++;
    const e = this.#pending.shift() as ChangeEvent;
    return { ...e, source: { ...e.source, position: formatPosition(this.#events) } };
  }

  #transaction(): void {
    this.#tx++;
    // Commit times advance 0-2 s per transaction, so a workload spans realistic hours/days.
    this.#micros += BigInt(this.#rng.int(0, 2_000_000));
    this.#txTime = new Timestamp(this.#micros, true);
    const rng = this.#rng;
    if (this.#customers.size < 20) return this.#insertCustomer();
    if (this.#products.size < 10) return this.#insertProduct();
    switch (rng.weighted([25, 30, 12, 10, 6, 3, 2, 1, 1])) {
      case 0: return this.#placeOrder();
      case 1: return this.#advanceOrder();
      case 2: return this.#insertCustomer();
      case 3: return this.#updateProduct();
      case 4: return this.#updateCustomer();
      case 5: return this.#insertProduct();
      case 6: return this.#removeItem();
      case 7: return this.#deleteCustomer();
      default: return this.#deleteOrder();
    }
  }

  #emit(table: TableName, op: ChangeOp, before: Row | null, after: Row | null): void {
    const row = (after ?? before) as Row;
    this.#pending.push({
      op,
      source: {
        kind: 'generator', name: this.#origin.source, database: this.#origin.database, schema: this.#origin.schema, table,
        position: '', txId: String(this.#tx), commitTime: this.#txTime,
      },
      key: { id: row['id'] as bigint },
      before,
      after,
      schemaVersion: 1,
    });
  }

  #id(table: TableName): bigint {
    const id = this.#nextId[table];
    this.#nextId = { ...this.#nextId, [table]: id + 1n };
    return id;
  }

  #person(): { name: string; email: string } {
    const rng = this.#rng;
    const first = rng.pick(FIRST_NAMES);
    const last = rng.pick(LAST_NAMES);
    const sep = rng.pick(['.', '_', '', '.']);
    const num = rng.chance(0.5) ? String(rng.int(1, 99)) : '';
    return { name: `${first} ${last}`, email: `${first}${sep}${last}${num}@${rng.pick(EMAIL_DOMAINS)}`.toLowerCase() };
  }

  #phone(): string {
    const r = this.#rng;
    return `(${r.pick(AREA_CODES)}) ${r.int(201, 989)}-${String(r.int(0, 9999)).padStart(4, '0')}`;
  }

  #address(): string {
    const r = this.#rng;
    const [city, state, zip] = r.pick(CITIES);
    const unit = r.chance(0.2) ? ` Apt ${r.int(1, 40)}` : '';
    return `${r.int(1, 9899)} ${r.pick(STREET_NAMES)} ${r.pick(STREET_SUFFIXES)}${unit}, ${city}, ${state} ${zip}${String(r.int(0, 99)).padStart(2, '0')}`;
  }

  #insertCustomer(): void {
    const id = this.#id('customers');
    const p = this.#person();
    // Birth dates between 1945 and 2006 (days since 1970: -9131 .. 13148).
    const row: Row = {
      id, name: p.name, email: p.email,
      phone: this.#rng.chance(0.9) ? this.#phone() : null,
      address: this.#rng.chance(0.95) ? this.#address() : null,
      birth_date: this.#rng.chance(0.85) ? new DateValue(this.#rng.int(-9131, 13148)) : null,
      created_at: this.#txTime,
    };
    this.#customers.set(id, row);
    if (this.#customers.size > LIVE_CAP.customers) this.#customers.delete(this.#customers.oldest() as bigint);
    this.#emit('customers', 'insert', null, row);
  }

  #updateCustomer(): void {
    const id = this.#customers.pick(this.#rng);
    const before = this.#customers.get(id) as Row;
    const which = this.#rng.int(0, 2);
    const after: Row = which === 0 ? { ...before, phone: this.#phone() } : which === 1 ? { ...before, address: this.#address() } : { ...before, email: this.#person().email };
    this.#customers.set(id, after);
    this.#emit('customers', 'update', before, after);
  }

  #deleteCustomer(): void {
    const id = this.#customers.pick(this.#rng);
    const before = this.#customers.get(id) as Row;
    this.#customers.delete(id);
    this.#emit('customers', 'delete', before, null);
  }

  #insertProduct(): void {
    const id = this.#id('products');
    const row: Row = { id, name: `${this.#rng.pick(PRODUCT_ADJECTIVES)} ${this.#rng.pick(PRODUCT_NOUNS)}`, price: cents(this.#rng.int(199, 24999)), stock: this.#rng.int(0, 500) };
    this.#products.set(id, row);
    if (this.#products.size > LIVE_CAP.products) this.#products.delete(this.#products.oldest() as bigint);
    this.#emit('products', 'insert', null, row);
  }

  #updateProduct(): void {
    const id = this.#products.pick(this.#rng);
    const before = this.#products.get(id) as Row;
    const after: Row = this.#rng.chance(0.3)
      ? { ...before, price: cents(Math.max(99, Math.round(toCents(before['price'] as Decimal) * (0.8 + this.#rng.next() * 0.4)))) }
      : { ...before, stock: this.#rng.int(0, 500) };
    this.#products.set(id, after);
    this.#emit('products', 'update', before, after);
  }

  #placeOrder(): void {
    const orderId = this.#id('orders');
    const n = this.#rng.int(1, 4);
    const items: Row[] = [];
    let total = 0;
    for (let i = 0; i < n; i++) {
      const product = this.#products.get(this.#products.pick(this.#rng)) as Row;
      const quantity = this.#rng.int(1, 3);
      const unit = product['price'] as Decimal;
      total += toCents(unit) * quantity;
      items.push({ id: this.#id('order_items'), order_id: orderId, product_id: product['id'] as bigint, quantity, unit_price: unit });
    }
    const order: Row = { id: orderId, customer_id: this.#customers.pick(this.#rng), status: 'pending', total: cents(total), placed_at: this.#txTime };
    this.#orders.set(orderId, order);
    if (this.#orders.size > LIVE_CAP.orders) this.#forgetOrder(this.#orders.oldest() as bigint);
    this.#emit('orders', 'insert', null, order);
    this.#orderItems.set(orderId, items.map((r) => r['id'] as bigint));
    for (const it of items) {
      this.#items.set(it['id'] as bigint, it);
      this.#emit('order_items', 'insert', null, it);
    }
  }

  #forgetOrder(orderId: bigint): void {
    for (const itemId of this.#orderItems.get(orderId) ?? []) this.#items.delete(itemId);
    this.#orderItems.delete(orderId);
    this.#orders.delete(orderId);
  }

  #advanceOrder(): void {
    if (this.#orders.size === 0) return this.#placeOrder();
    const id = this.#orders.pick(this.#rng);
    const before = this.#orders.get(id) as Row;
    const status = before['status'] as OrderStatus;
    let next: OrderStatus;
    if (status === 'delivered' || status === 'cancelled') return this.#placeOrder();
    if (status !== 'shipped' && this.#rng.chance(0.08)) next = 'cancelled';
    else next = status === 'pending' ? 'paid' : status === 'paid' ? 'shipped' : 'delivered';
    const after: Row = { ...before, status: next };
    this.#orders.set(id, after);
    this.#emit('orders', 'update', before, after);
  }

  #removeItem(): void {
    if (this.#orders.size === 0) return this.#placeOrder();
    const orderId = this.#orders.pick(this.#rng);
    const order = this.#orders.get(orderId) as Row;
    const itemIds = this.#orderItems.get(orderId) ?? [];
    if (order['status'] !== 'pending' || itemIds.length < 2) return this.#advanceOrder();
    const itemId = itemIds.pop() as bigint;
    const item = this.#items.get(itemId) as Row;
    this.#items.delete(itemId);
    this.#emit('order_items', 'delete', item, null);
    const after: Row = { ...order, total: cents(toCents(order['total'] as Decimal) - toCents(item['unit_price'] as Decimal) * (item['quantity'] as number)) };
    this.#orders.set(orderId, after);
    this.#emit('orders', 'update', order, after);
  }

  #deleteOrder(): void {
    if (this.#orders.size === 0) return this.#placeOrder();
    const orderId = this.#orders.pick(this.#rng);
    const order = this.#orders.get(orderId) as Row;
    if (order['status'] !== 'delivered' && order['status'] !== 'cancelled') return this.#advanceOrder();
    for (const itemId of this.#orderItems.get(orderId) ?? []) {
      this.#emit('order_items', 'delete', this.#items.get(itemId) as Row, null);
      this.#items.delete(itemId);
    }
    this.#orderItems.delete(orderId);
    this.#orders.delete(orderId);
    this.#emit('orders', 'delete', order, null);
  }
}
