/**
 * The envelope codec (`encodeEnvelope` / `decodeEnvelope`: the lossless value codec inside the
 * stream record format) against its peer measured in the same run: `JSON.stringify` /
 * `JSON.parse` of the same documents in their plain-JSON shape (the tagged objects as plain
 * JS objects, so the peer writes and reads the very same bytes but builds no typed values).
 *
 * Events: the generator's e-commerce workload (bigint ids, Decimal prices, Timestamp and date
 * columns, strings, nulls; inserts, updates with before and after, deletes). A pool of 20,000
 * distinct events is cycled, so memory stays small at any N. Both sides go from values to
 * bytes (encode) and from bytes to values (decode), UTF-8 included. Sides alternate, best of
 * 5 rounds each, timed in CPU seconds (see `timed`), so a noisy neighbour on a shared machine
 * does not decide the ratio.
 */
import type { Benchmark } from './harness.ts';
import { decodeEnvelope, encodeEnvelope, envelopeToJson, type Envelope } from '../src/core/change-event.ts';
import { Workload } from '../src/sources/generator/workload.ts';

const POOL = 20_000;
/** The fastest plain UTF-8 decoding in Node 20 for the peer too (decodeEnvelope uses the same). */
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });
const ROUNDS = 5;

/** The generator's first `n` events. */
export function workloadEvents(n: number, seed = 7): Envelope[] {
  const w = new Workload(seed, { source: 'shop', database: 'shop', schema: 'public', startMillis: Date.parse('2024-01-01T00:00:00Z') });
  return Array.from({ length: n }, () => w.next());
}

/**
 * CPU time (user + system) of a synchronous loop. On a shared machine wall time mostly
 * measures the neighbours; for a single-threaded loop CPU time is what it costs.
 */
function timed(fn: () => number): { secs: number; sink: number } {
  const c0 = process.cpuUsage();
  const sink = fn();
  const c = process.cpuUsage(c0);
  return { secs: (c.user + c.system) / 1e6, sink };
}

export const bench: Benchmark = {
  name: 'codec',
  summary: 'envelope encode/decode (lossless value codec) vs JSON.stringify/JSON.parse of the same documents',
  async run({ smoke, n }) {
    const total = n ?? (smoke ? 20_000 : 1_000_000);
    const pool = workloadEvents(Math.min(POOL, total));
    const bytes = pool.map((e) => encodeEnvelope(e));
    const plain = pool.map((e) => JSON.parse(envelopeToJson(e)) as unknown);
    const poolBytes = bytes.reduce((s, b) => s + b.byteLength, 0);
    const totalBytes = (poolBytes * total) / pool.length;
    const best = { enc: Infinity, dec: Infinity, penc: Infinity, pdec: Infinity };
    let sink = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const enc = timed(() => {
        let s = 0;
        for (let i = 0; i < total; i++) s += encodeEnvelope(pool[i % pool.length] as Envelope).byteLength;
        return s;
      });
      const penc = timed(() => {
        let s = 0;
        for (let i = 0; i < total; i++) s += Buffer.from(JSON.stringify(plain[i % plain.length]), 'utf8').byteLength;
        return s;
      });
      const dec = timed(() => {
        let s = 0;
        for (let i = 0; i < total; i++) s += decodeEnvelope(bytes[i % bytes.length] as Uint8Array).op.length;
        return s;
      });
      const pdec = timed(() => {
        let s = 0;
        for (let i = 0; i < total; i++) {
          const b = bytes[i % bytes.length] as Uint8Array;
          s += (JSON.parse(utf8.decode(b)) as { op: string }).op.length;
        }
        return s;
      });
      // Both sides must produce the same bytes, or the comparison would be meaningless.
      if (enc.sink !== penc.sink) throw new Error(`encoder wrote ${enc.sink} bytes, JSON.stringify ${penc.sink}: the outputs differ`);
      if (dec.sink !== pdec.sink) throw new Error('decoded ops differ between the codec and JSON.parse');
      sink += enc.sink + dec.sink;
      best.enc = Math.min(best.enc, enc.secs);
      best.penc = Math.min(best.penc, penc.secs);
      best.dec = Math.min(best.dec, dec.secs);
      best.pdec = Math.min(best.pdec, pdec.secs);
    }
    const mb = totalBytes / 1e6;
    const note = (secs: number): string => `${(mb / secs).toFixed(1)} MB per CPU-s; ${total} events, pool ${pool.length}, avg ${Math.round(poolBytes / pool.length)} B; best of ${ROUNDS}`;
    return {
      rows: [
        { name: 'hydrant encodeEnvelope', value: total / best.enc, unit: 'events/CPU-s', note: note(best.enc) },
        { name: 'JSON.stringify same document (peer)', value: total / best.penc, unit: 'events/CPU-s', note: note(best.penc) },
        { name: 'hydrant decodeEnvelope', value: total / best.dec, unit: 'events/CPU-s', note: note(best.dec) },
        { name: 'JSON.parse same bytes (peer)', value: total / best.pdec, unit: 'events/CPU-s', note: `${note(best.pdec)}; checksum ${sink % 1000}` },
      ],
      ratios: [
        { name: 'encode vs JSON.stringify', value: best.penc / best.enc },
        { name: 'decode vs JSON.parse', value: best.pdec / best.dec },
      ],
    };
  },
};
