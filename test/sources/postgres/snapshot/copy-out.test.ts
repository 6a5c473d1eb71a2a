/**
 * copyOut reads the COPY's socket data itself (not through pg's parser): the bytes of a real
 * COPY, replayed through a fake connection cut at seeded random points (1 byte to 64 KiB, so
 * messages and their 5-byte headers straddle reads), give the same CopyData payloads as pg, pass
 * notices to pg while the COPY goes on, and hand the socket back to pg at CopyDone with exactly
 * the remaining bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type pg from 'pg';
import { connectReader } from '../../../../src/sources/postgres/snapshot/chunk-reader.ts';
import { copyOut } from '../../../../src/sources/postgres/snapshot/copy-out.ts';
import { startAppServer, testSeed } from './helpers.ts';

/** A pg-protocol message. */
function message(code: string, body: Buffer): Buffer {
  const h = Buffer.alloc(5);
  h.write(code, 0, 'latin1');
  h.writeUInt32BE(body.length + 4, 1);
  return Buffer.concat([h, body]);
}

test('copyOut frames CopyData itself at any read boundary and hands the rest back to pg', async (t) => {
  const server = await startAppServer(t);
  const seed = testSeed('copy-out framing');
  const c = await connectReader({ ...server.connection('app'), applicationName: 'test' }, 'reader');
  // The raw bytes of a real COPY (rows of varied width), and the payloads pg's own parser gives.
  const raw: Buffer[] = [];
  const stream = (c as unknown as { connection: { stream: EventEmitter } }).connection.stream;
  const tap = (b: Buffer): void => void raw.push(Buffer.from(b));
  stream.prependListener('data', tap);
  const expected: Buffer[] = [];
  const sql = `copy (select g, repeat('x', g % 300), g * 1.5 from generate_series(1, 3000) g) to stdout (format binary)`;
  const real = copyOut(c, sql, (b, s, e) => void expected.push(Buffer.from(b.subarray(s, e))));
  await real.done;
  stream.removeListener('data', tap);
  await c.end();
  // A notice in the middle of the data, as the server may send one at any time.
  const bytes = Buffer.concat(raw);
  let mid = 0;
  for (let i = 0; i < 1500; i++) mid += 1 + bytes.readUInt32BE(mid + 1);
  const notice = message('N', Buffer.from('SNOTICE\0Mhello\0\0', 'latin1'));
  const all = Buffer.concat([bytes.subarray(0, mid), notice, bytes.subarray(mid)]);
  // Where CopyDone starts: pg must get exactly the bytes from there on.
  let off = 0;
  while (all[off] !== 0x63 /* c */) off += 1 + all.readUInt32BE(off + 1);
  const tail = all.subarray(off);

  let s = seed >>> 0;
  const rnd = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  for (let round = 0; round < 30; round++) {
    const fake = new EventEmitter() as EventEmitter & { pause(): void; resume(): void };
    fake.pause = () => {};
    fake.resume = () => {};
    const toPg: Buffer[] = [];
    let submittable: { submit(con: unknown): void; handleReadyForQuery(): void } | undefined;
    fake.on('data', (b: Buffer) => {
      toPg.push(Buffer.from(b));
      if (Buffer.concat(toPg).includes(Buffer.from('Z\0\0\0\x05I', 'latin1'))) submittable?.handleReadyForQuery();
    });
    const client = { query: (q: typeof submittable) => ((submittable = q), q?.submit({ stream: fake, query() {} })) } as unknown as pg.Client;
    const got: Buffer[] = [];
    const copy = copyOut(client, sql, (b, st, e) => void got.push(Buffer.from(b.subarray(st, e))));
    const maxCut = round % 3 === 0 ? 8 : round % 3 === 1 ? 300 : 65_536;
    for (let p = 0; p < all.length;) {
      const n = 1 + Math.floor(rnd() * maxCut);
      fake.emit('data', all.subarray(p, p + n));
      p += n;
    }
    await copy.done;
    assert.equal(got.length, expected.length, `round ${round}: payloads`);
    assert.ok(got.every((g, i) => g.equals(expected[i] as Buffer)), `round ${round}: payload bytes`);
    const pgBytes = Buffer.concat(toPg);
    assert.ok(pgBytes.subarray(0, pgBytes.length - tail.length).includes(notice), `round ${round}: the notice went to pg`);
    assert.ok(pgBytes.subarray(pgBytes.length - tail.length).equals(tail), `round ${round}: pg got the rest from CopyDone on`);
    assert.equal(fake.listenerCount('data'), 1, 'only pg listens again');
  }
});
