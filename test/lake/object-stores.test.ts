import { test } from 'node:test';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsObjectStore } from '../../src/lake/fs/fs-object-store.ts';
import { objectStoreConformance } from './object-store-conformance.ts';
import { startS3 } from '../support/s3.ts';

test('FsObjectStore conformance', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hydrant-fs-lake-'));
  try {
    const store = new FsObjectStore(dir);
    await objectStoreConformance(t, store);
    // The temp directory is left empty after successful puts.
    assert.deepEqual(readdirSync(join(dir, '.hydrant-tmp')), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('S3ObjectStore conformance (s3rver on loopback, multipart with 5 MiB parts)', async (t) => {
  const s3 = await startS3();
  try {
    await objectStoreConformance(t, s3.store('pre/fix'));
    // Nothing outside the prefix.
    const root = s3.store('');
    assert.ok((await root.list('')).every((o) => o.key.startsWith('pre/fix/')));
  } finally {
    await s3.stop();
  }
});

test('lake section: fs path resolves against the data dir; S3 credentials must come as a pair', async () => {
  const { lakeConfigSchema, openObjectStore } = await import('../../src/lake/lake-config.ts');
  const fs = openObjectStore(lakeConfigSchema.parse(undefined), '/data');
  assert.equal(fs.location, 'file:///data/lake');
  const s3 = openObjectStore(lakeConfigSchema.parse({ type: 's3', bucket: 'b', prefix: '/p/' }), '/data');
  assert.equal(s3.location, 's3://b/p');
  await s3.close();
  assert.throws(() => openObjectStore(lakeConfigSchema.parse({ type: 's3', bucket: 'b', access_key_id: 'AKIA' }), '/data'), /access_key_id and secret_access_key go together/);
  assert.throws(() => lakeConfigSchema.parse({ type: 's3' }));
  assert.throws(() => lakeConfigSchema.parse({ type: 'fs', nope: 1 }));
});
