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
