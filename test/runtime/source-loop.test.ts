import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeEnvelope, encodeEnvelope, envelopeToJson, partitionKeyOf, type ChangeEvent } from '../../src/core/change-event.ts';
import { EncodedEventsBuilder } from '../../src/core/encoded-events.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { Metrics } from '../../src/core/metrics.ts';
import { FsObjectStore } from '../../src/lake/fs/fs-object-store.ts';
import { ErrorSink } from '../../src/runtime/error-sink.ts';
import { SourceLoop } from '../../src/runtime/source-loop.ts';
import { Workload } from '../../src/sources/generator/workload.ts';
import type { Source, SourceBatch } from '../../src/sources/source.ts';
import { EmbeddedStateStore } from '../../src/state/embedded/embedded-state-store.ts';
import { EmbeddedStreamLog } from '../../src/stream/embedded/embedded-stream-log.ts';
import { readStream } from '../stream/stream-log-conformance.ts';

const SEED = 1234;
console.log(`source loop test seed=${SEED}`);

/** A source that, like a replication slot, re-sends from its last acknowledged point, whatever start() says. */
class ReplayingSource implements Source {
  readonly events: ChangeEvent[];
  #i = 0;
  started: string | null | undefined;
  acked: string[] = [];
  constructor(events: ChangeEvent[]) {
    this.events = events;
  }
  async start(position: string | null): Promise<void> {
    this.started = position;
    this.#i = 0; // ignores the position on purpose: re-sends everything
  }
  async next(): Promise<SourceBatch> {
    const events = this.events.slice(this.#i, this.#i + 50);
    this.#i += events.length;
    const last = events[events.length - 1] ?? this.events[this.events.length - 1]!;
    return { events, position: last.source.position, caughtUp: this.#i >= this.events.length };
  }
  async ack(position: string): Promise<void> {
    this.acked.push(position);
  }
  async close(): Promise<void> {}
}

test('recovery after an append that reached only some shards: the missing records are appended, none twice', async () => {
  // One append spans several shards; a crash can leave it durable on some and not on others.
  // Resuming after the highest position found would lose the rest (a random-kill test caught it).
  const dir = await mkdtemp(join(tmpdir(), 'hydrant-srcloop-'));
  const log = new EmbeddedStreamLog({ dataDir: dir, logger: silentLogger, retentionIntervalMs: 0 });
  const state = await EmbeddedStateStore.open({ dataDir: dir, logger: silentLogger });
  try {
    const w = new Workload(SEED, { source: 'shop', database: 'shop', schema: 'public', startMillis: 0 });
    const events = Array.from({ length: 300 }, () => w.next());
    await log.ensureStream('changes', { shards: 3 });
    const put = (es: typeof events) => log.append('changes', es.map((e) => ({ partitionKey: partitionKeyOf(e), data: encodeEnvelope(e) })));
    const first = await put(events.slice(0, 100));
    const shards: Record<string, string> = {};
    for (const r of first) shards[r.shardId] = r.sequence;
    await state.commit([{ type: 'put', key: 'sources/shop/position', value: events[99]!.source.position }, { type: 'put', key: 'sources/shop/shards', value: shards }]);
    // The next batch (100..199) became durable on some shards only before the crash: a subset
    // of its records, the highest position among them far above some missing ones.
    await put(events.slice(100, 200).filter((_, i) => i % 3 === 0));

    const source = new ReplayingSource(events);
    const metrics = new Metrics();
    const loop = new SourceLoop({ name: 'shop', source, stream: 'changes', transforms: [], state, log, errors: new ErrorSink(new FsObjectStore(join(dir, 'lake')), silentLogger, metrics), logger: silentLogger, metrics, untilCaughtUp: true });
    await loop.run(new AbortController().signal);
    const seen: string[] = [];
    for (const rec of await readStream(log, 'changes')) seen.push(decodeEnvelope(rec.data).source.position);
    assert.equal(seen.length, 300, 'every position once');
    assert.deepEqual(seen.sort(), events.map((e) => e.source.position));
  } finally {
    await state.close();
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('recovery: records appended without a position commit are found; re-sent events at or below are dropped', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hydrant-srcloop-'));
  const log = new EmbeddedStreamLog({ dataDir: dir, logger: silentLogger, retentionIntervalMs: 0 });
  const state = await EmbeddedStateStore.open({ dataDir: dir, logger: silentLogger });
  try {
    const w = new Workload(SEED, { source: 'shop', database: 'shop', schema: 'public', startMillis: 0 });
    const events = Array.from({ length: 300 }, () => w.next());
    await log.ensureStream('changes', { shards: 3 });
    // A previous run committed position 100, then appended 101..170 and died before committing.
    await log.append('changes', events.slice(0, 100).map((e) => ({ partitionKey: partitionKeyOf(e), data: encodeEnvelope(e) })));
    await state.commit([{ type: 'put', key: 'sources/shop/position', value: events[99]!.source.position }]);
    await log.append('changes', events.slice(100, 170).map((e) => ({ partitionKey: partitionKeyOf(e), data: encodeEnvelope(e) })));

    const source = new ReplayingSource(events);
    const metrics = new Metrics();
    const loop = new SourceLoop({ name: 'shop', source, stream: 'changes', transforms: [], state, log, errors: new ErrorSink(new FsObjectStore(join(dir, 'lake')), silentLogger, metrics), logger: silentLogger, metrics, untilCaughtUp: true });
    await loop.run(new AbortController().signal);

    assert.equal(source.started, events[99]!.source.position, 'the source resumes after the committed position');
    assert.equal(source.acked[0], events[99]!.source.position);
    assert.equal(await state.get('sources/shop/position'), events[299]!.source.position);
    assert.equal(metrics.get('hydrant_source_duplicates_dropped_total', { source: 'shop' }), 170, 'the 100 committed events and the 70 found in the stream are dropped when re-sent');
    const seen: string[] = [];
    for (const rec of await readStream(log, 'changes')) seen.push(decodeEnvelope(rec.data).source.position);
    assert.equal(seen.length, 300, 'no position appended twice');
    assert.deepEqual(seen.sort(), events.map((e) => e.source.position));
  } finally {
    await state.close();
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('the next batch is pulled while the previous one is made durable; ack follows durability and never overlaps next()', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hydrant-srcloop-'));
  const inner = new EmbeddedStreamLog({ dataDir: dir, logger: silentLogger, retentionIntervalMs: 0 });
  const state = await EmbeddedStateStore.open({ dataDir: dir, logger: silentLogger });
  const trace: string[] = [];
  try {
    const w = new Workload(SEED, { source: 'shop', database: 'shop', schema: 'public', startMillis: 0 });
    const events = Array.from({ length: 200 }, () => w.next());
    await inner.ensureStream('changes', { shards: 2 });
    let appendsDone = 0;
    // A log whose appends become durable only after a delay, so overlap is observable.
    const log = new Proxy(inner, {
      get(target, prop, receiver) {
        if (prop === 'append') {
          return async (stream: string, records: Parameters<EmbeddedStreamLog['append']>[1]) => {
            trace.push('append-start');
            await new Promise((r) => setTimeout(r, 30));
            const out = await target.append(stream, records);
            appendsDone++;
            trace.push('append-durable');
            return out;
          };
        }
        const v = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    let inNext = false;
    let i = 0;
    const source: Source = {
      async start() {},
      async next() {
        inNext = true;
        trace.push(`next(durable=${appendsDone})`);
        await new Promise((r) => setTimeout(r, 5));
        const batch = events.slice(i, i + 50);
        i += batch.length;
        inNext = false;
        const last = batch[batch.length - 1] ?? events[events.length - 1]!;
        return { events: batch, position: last.source.position, caughtUp: i >= events.length };
      },
      async ack(position) {
        assert.equal(inNext, false, 'ack is never called while next() runs');
        trace.push(`ack(${events.findIndex((e) => e.source.position === position)})`);
        assert.equal(await state.get('sources/shop/position') !== undefined, true);
      },
      async close() {},
    };
    const metrics = new Metrics();
    const loop = new SourceLoop({ name: 'shop', source, stream: 'changes', transforms: [], state, log, errors: new ErrorSink(new FsObjectStore(join(dir, 'lake')), silentLogger, metrics), logger: silentLogger, metrics, untilCaughtUp: true });
    await loop.run(new AbortController().signal);
    // The second pull starts before the first append is durable (the overlap) ...
    assert.ok(trace.indexOf('next(durable=0)', 1) > 0, `a next() ran while the first append was in flight: ${trace.join(' ')}`);
    // ... and each batch is acked after it is durable, in order, each once.
    assert.deepEqual(trace.filter((t) => t.startsWith('ack')), ['ack(49)', 'ack(99)', 'ack(149)', 'ack(199)', 'ack(199)']);
    const acks = trace.map((t, k) => [t, k] as const).filter(([t]) => t.startsWith('ack'));
    const durables = trace.map((t, k) => [t, k] as const).filter(([t]) => t === 'append-durable');
    for (let k = 0; k < 4; k++) assert.ok((acks[k] as readonly [string, number])[1] > (durables[k] as readonly [string, number])[1], `ack ${k} after its append is durable`);
    assert.equal(await state.get('sources/shop/position'), events[199]!.source.position);
    assert.equal(loop.caughtUp, true);
  } finally {
    await inner.close();
    await state.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('encoded batches: records go to the stream byte for byte; re-sent ones below the committed position are dropped', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hydrant-srcloop-'));
  const log = new EmbeddedStreamLog({ dataDir: dir, logger: silentLogger, retentionIntervalMs: 0 });
  const state = await EmbeddedStateStore.open({ dataDir: dir, logger: silentLogger });
  try {
    const w = new Workload(SEED, { source: 'shop', database: 'shop', schema: 'public', startMillis: 0 });
    const events = Array.from({ length: 300 }, () => w.next());
    await log.ensureStream('changes', { shards: 3 });
    // The first 100 are durable and committed; the source re-sends from the start anyway.
    const first = await log.append('changes', events.slice(0, 100).map((e) => ({ partitionKey: partitionKeyOf(e), data: encodeEnvelope(e) })));
    const shards: Record<string, string> = {};
    for (const r of first) shards[r.shardId] = r.sequence;
    await state.commit([{ type: 'put', key: 'sources/shop/position', value: events[99]!.source.position }, { type: 'put', key: 'sources/shop/shards', value: shards }]);
    let i = 0;
    const schemas = [...new Map(events.map((e) => [e.source.table, e])).values()];
    const builder = new EncodedEventsBuilder(256); // small: growth is exercised
    const source: Source = {
      async start() {
        i = 0;
      },
      async next() {
        for (const e of events.slice(i, i + 64)) builder.add(envelopeToJson(e), partitionKeyOf(e), e.source.position, e.source.table);
        i += 64;
        const encoded = builder.take();
        return { events: [], encoded, position: encoded.positions[encoded.count - 1] ?? events[299]!.source.position, caughtUp: i >= events.length };
      },
      async ack() {},
      async close() {},
    };
    assert.ok(schemas.length > 1, 'the workload spans several tables');
    const metrics = new Metrics();
    const loop = new SourceLoop({ name: 'shop', source, stream: 'changes', transforms: [], state, log, errors: new ErrorSink(new FsObjectStore(join(dir, 'lake')), silentLogger, metrics), logger: silentLogger, metrics, untilCaughtUp: true });
    await loop.run(new AbortController().signal);
    const seen = new Map<string, Uint8Array>();
    for (const rec of await readStream(log, 'changes')) {
      const p = decodeEnvelope(rec.data).source.position;
      assert.equal(seen.has(p), false, `position ${p} twice`);
      seen.set(p, rec.data);
    }
    assert.equal(seen.size, 300, 'every position once');
    for (const e of events) assert.deepEqual(Buffer.from(seen.get(e.source.position)!), Buffer.from(encodeEnvelope(e)));
    assert.equal(metrics.get('hydrant_source_duplicates_dropped_total', { source: 'shop' }), 100);
    let counted = 0;
    for (const t of new Set(events.map((e) => e.source.table))) counted += metrics.get('hydrant_source_records_total', { source: 'shop', table: t }) ?? 0;
    assert.equal(counted, 200, 'per-table record counts add up to what was appended');
    assert.equal(await state.get('sources/shop/position'), events[299]!.source.position);
  } finally {
    await log.close();
    await state.close();
    await rm(dir, { recursive: true, force: true });
  }
});
