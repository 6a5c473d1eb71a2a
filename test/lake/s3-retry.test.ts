/**
 * S3 retries with back-off: a loopback proxy in front of a real s3rver answers the first
 * requests with 503 SlowDown; the store retries (SDK back-off) and succeeds, and with one
 * attempt it fails with a ConnectionError that says what happened and where.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { S3ObjectStore } from '../../src/lake/s3/s3-object-store.ts';
import { startS3 } from '../support/s3.ts';

/** Forwards to `target`, failing the first `failures` PUTs with 503. */
async function flakyProxy(target: string, failures: number): Promise<{ url: string; puts: () => number; close: () => Promise<void> }> {
  const t = new URL(target);
  let puts = 0;
  const server: Server = createServer((req, res) => {
    if (req.method === 'PUT' && puts++ < failures) {
      req.resume();
      req.on('end', () => {
        res.writeHead(503, { 'content-type': 'application/xml' });
        res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>');
      });
      return;
    }
    const up = request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      ur.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, puts: () => puts, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const store = (endpoint: string, maxAttempts: number) => new S3ObjectStore({ bucket: 'lake', prefix: '', region: 'us-east-1', endpoint, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }, partSize: 5 * 1024 * 1024, maxAttempts });

test('S3 store retries 503 SlowDown with back-off and succeeds; without attempts left it reports a ConnectionError', async () => {
  const s3 = await startS3();
  const proxy = await flakyProxy(s3.endpoint, 2);
  try {
    const ok = store(proxy.url, 3);
    await ok.put('a/retried.txt', Buffer.from('hello'));
    assert.equal(proxy.puts(), 3, 'two refused attempts, then the one that went through');
    assert.equal(Buffer.from(await ok.get('a/retried.txt')).toString(), 'hello');
    await ok.close();
    const proxy2 = await flakyProxy(s3.endpoint, 1);
    const once = store(proxy2.url, 1);
    await assert.rejects(once.put('a/failed.txt', Buffer.from('x')), (e: Error & { code?: string }) => e.code === 'CONNECTION_FAILED' && /S3 PutObject of a\/failed\.txt in s3:\/\/lake failed \(HTTP 503\).*SlowDown/.test(e.message));
    await once.close();
    await proxy2.close();
    assert.equal(await s3.store().head('a/failed.txt'), undefined);
  } finally {
    await proxy.close();
    await s3.stop();
  }
});
