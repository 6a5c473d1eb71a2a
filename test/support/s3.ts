/**
 * Starts a private S3-protocol server (s3rver) on loopback with its own temp directory and
 * port, and a bucket. Tests use it as a real S3 endpoint; `stop()` closes it and removes the
 * directory. s3rver ignores conditional writes and does not list multipart uploads.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3ObjectStore } from '../../src/lake/s3/s3-object-store.ts';

export interface S3Server {
  readonly endpoint: string;
  readonly bucket: string;
  readonly dir: string;
  /** A store on the server with the given prefix (small part size to exercise multipart). */
  store(prefix?: string, partSize?: number): S3ObjectStore;
  /** `lake` section for a pipeline file. */
  lakeConfig(prefix?: string): Record<string, unknown>;
  stop(): Promise<void>;
}

interface S3rverLike {
  run(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
}

export async function startS3(bucket = 'lake'): Promise<S3Server> {
  const dir = mkdtempSync(join(tmpdir(), 'hydrant-s3rver-'));
  const mod = (await import('s3rver' as string)) as { default: new (o: Record<string, unknown>) => S3rverLike };
  const server = new mod.default({ address: '127.0.0.1', port: 0, silent: true, directory: dir, configureBuckets: [{ name: bucket }] });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const stores: S3ObjectStore[] = [];
  return {
    endpoint,
    bucket,
    dir,
    store(prefix = '', partSize = 5 * 1024 * 1024) {
      const s = new S3ObjectStore({ bucket, prefix, region: 'us-east-1', endpoint, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }, partSize, maxAttempts: 3 });
      stores.push(s);
      return s;
    },
    lakeConfig(prefix = '') {
      return { type: 's3', bucket, prefix, endpoint, region: 'us-east-1', force_path_style: true, access_key_id: 'S3RVER', secret_access_key: 'S3RVER', part_size_mib: 5 };
    },
    async stop() {
      for (const s of stores) await s.close();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
