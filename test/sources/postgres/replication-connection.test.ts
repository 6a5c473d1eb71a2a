/**
 * The replication connection's own CopyBoth reader, against a fake socket: protocol messages cut
 * at arbitrary read boundaries come out whole and in order, keepalives are answered, server
 * errors fail the stream. (The real server is exercised by acks.test.ts and capture.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import fc from 'fast-check';
import { ReplicationConnection } from '../../../src/sources/postgres/replication-connection.ts';

class FakeSocket extends EventEmitter {
  paused = 0;
  pause(): void {
    this.paused++;
  }
  resume(): void {}
}

function fakeConnection(): { conn: ReplicationConnection; socket: FakeSocket; sent: Buffer[]; queries: string[] } {
  const socket = new FakeSocket();
  // pg's parser: start() must detach it.
  socket.on('data', () => assert.fail('pg parser still attached'));
  const sent: Buffer[] = [];
  const queries: string[] = [];
  const client = Object.assign(new EventEmitter(), {
    connection: { stream: socket, query: (q: string) => queries.push(q), sendCopyFromChunk: (b: Buffer) => sent.push(Buffer.from(b)) },
    end: async () => {},
  });
  const Ctor = ReplicationConnection as unknown as new (c: unknown) => ReplicationConnection;
  const conn = new Ctor(client);
  conn.start('slot', 0n, `proto_version '1'`, 1_000_000);
  return { conn, socket, sent, queries };
}

function message(type: string, body: Buffer): Buffer {
  const h = Buffer.alloc(5);
  h.write(type, 0, 'latin1');
  h.writeUInt32BE(body.length + 4, 1);
  return Buffer.concat([h, body]);
}

function xlogData(walEnd: bigint, payload: Buffer): Buffer {
  const h = Buffer.alloc(25);
  h.write('w', 0, 'latin1');
  h.writeBigUInt64BE(walEnd - 1n, 1);
  h.writeBigUInt64BE(walEnd, 9);
  return message('d', Buffer.concat([h, payload]));
}

function keepalive(walEnd: bigint, reply: boolean): Buffer {
  const b = Buffer.alloc(18);
  b.write('k', 0, 'latin1');
  b.writeBigUInt64BE(walEnd, 1);
  b[17] = reply ? 1 : 0;
  return message('d', b);
}

test('messages cut at any read boundary come out whole, in order, with keepalives answered', () => {
  fc.assert(fc.property(fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { minLength: 1, maxLength: 30 }), fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 50 }), (payloads, cuts) => {
    const { conn, socket, sent, queries } = fakeConnection();
    assert.match(queries[0] ?? '', /^START_REPLICATION SLOT "slot" LOGICAL 0\/0/);
    const parts: Buffer[] = [message('W', Buffer.alloc(3)), message('N', Buffer.from('Snotice\0\0'))];
    payloads.forEach((p, i) => {
      parts.push(xlogData(BigInt(100 + i), Buffer.from(p)));
      if (i % 7 === 3) parts.push(keepalive(BigInt(100 + i), true));
    });
    const all = Buffer.concat(parts);
    const got: Buffer[] = [];
    let o = 0;
    for (let i = 0; o < all.length; i++) {
      const n = cuts[i % cuts.length] as number;
      // A fresh buffer per read, as Node gives.
      socket.emit('data', Buffer.from(all.subarray(o, o + n)));
      o += n;
      while (conn.poll()) got.push(Buffer.from(conn.current()));
    }
    assert.deepEqual(got, payloads.map((p) => Buffer.from(p)));
    assert.equal(conn.queuedCount, 0);
    assert.equal(conn.received, BigInt(100 + payloads.length - 1));
    assert.equal(sent.length, payloads.filter((_p, i) => i % 7 === 3).length);
    for (const s of sent) assert.equal(s[0], 0x72);
  }), { seed: 11, numRuns: 300 });
});

test('next() waits for a message; an ErrorResponse fails it with the server message', async () => {
  const { conn, socket } = fakeConnection();
  const waiting = conn.next();
  socket.emit('data', xlogData(5n, Buffer.from('B')));
  assert.equal(await waiting, true);
  assert.equal(conn.current().toString(), 'B');
  const failing = conn.next();
  socket.emit('data', message('E', Buffer.from('SERROR\0VERROR\0C42704\0Mreplication slot "slot" does not exist\0\0')));
  await assert.rejects(failing, /replication stream failed: replication slot "slot" does not exist/);
  await assert.rejects(conn.command('IDENTIFY_SYSTEM'), /streaming/);
});

test('CopyDone from the server ends the stream; queued messages are still handed out first', async () => {
  const { conn, socket } = fakeConnection();
  socket.emit('data', Buffer.concat([xlogData(5n, Buffer.from('x')), message('c', Buffer.alloc(0))]));
  assert.equal(await conn.next(), true);
  await assert.rejects(conn.next(), /ended the replication stream/);
});

test('a message handed to a waiting next() is held until the caller asks again, even when a keepalive follows in the same read', async () => {
  const { conn, socket } = fakeConnection();
  const seen: Array<{ walEnd: bigint; holding: boolean; queued: number }> = [];
  conn.onKeepalive = (walEnd) => seen.push({ walEnd, holding: conn.holding, queued: conn.queuedCount });
  const waiting = conn.next();
  // A Begin arrives for the waiter, and in the same read a keepalive whose WAL end lies past
  // that transaction's commit: the stream is not idle (the Begin is not applied yet).
  socket.emit('data', Buffer.concat([xlogData(500n, Buffer.from('B-begin')), keepalive(900n, false)]));
  assert.equal(await waiting, true);
  assert.deepEqual(seen, [{ walEnd: 900n, holding: true, queued: 0 }]);
  assert.equal(conn.current().toString(), 'B-begin');
  // The caller applied it and asks for more: nothing held, so a later keepalive may count as idle.
  assert.equal(conn.poll(), false);
  assert.equal(conn.holding, false);
  socket.emit('data', keepalive(950n, false));
  assert.deepEqual(seen[1], { walEnd: 950n, holding: false, queued: 0 });
});
