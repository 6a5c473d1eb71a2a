/**
 * The pipeline's top-level `lake` section: where the lake lives and how to reach it. Every
 * delivery writes into this one store. `type: fs` (default) is a local directory; `type: s3`
 * is a bucket. Credentials come from the section or, when absent, the AWS SDK's default chain
 * (environment, shared profile, instance role). Secrets are never logged.
 */
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { HydrantError } from '../core/errors.ts';
import type { ObjectStore } from './object-store.ts';
import { FsObjectStore } from './fs/fs-object-store.ts';
import { S3ObjectStore } from './s3/s3-object-store.ts';

const fsLake = z.strictObject({
  type: z.literal('fs').describe('A local directory.'),
  path: z.string().min(1).default('lake').describe('Directory of the lake; relative paths are resolved against the data directory.'),
});

const s3Lake = z.strictObject({
  type: z.literal('s3').describe('An S3 bucket (AWS or any S3-compatible server).'),
  bucket: z.string().min(1).describe('Bucket name.'),
  prefix: z.string().default('').describe('Key prefix inside the bucket, e.g. `lake` (no leading or trailing slash).'),
  region: z.string().default('us-east-1').describe('AWS region.'),
  endpoint: z.string().url().optional().describe('Custom endpoint URL (MinIO, LocalStack); omit for AWS.'),
  force_path_style: z.boolean().default(false).describe('Use path-style URLs (needed by most S3-compatible servers).'),
  access_key_id: z.string().optional().describe('Static access key id; omit to use the AWS default credential chain.'),
  secret_access_key: z.string().optional().describe('Static secret key (never logged); required with access_key_id.'),
  session_token: z.string().optional().describe('Session token for temporary credentials.'),
  part_size_mib: z.number().int().min(5).max(5120).default(16).describe('Multipart part size in MiB; smaller objects are one PUT.'),
  max_attempts: z.number().int().min(1).max(20).default(5).describe('Attempts per S3 request, with exponential back-off between them.'),
});

/** Schema of the pipeline's `lake` section. */
export const lakeConfigSchema = z.discriminatedUnion('type', [fsLake, s3Lake]).default({ type: 'fs', path: 'lake' }).describe('Where the lake lives; shared by every delivery.');

/** The parsed `lake` section. */
export type LakeConfig = z.output<typeof lakeConfigSchema>;

/** Opens the object store a `lake` section names. */
export function openObjectStore(config: LakeConfig, dataDir: string): ObjectStore {
  if (config.type === 'fs') return new FsObjectStore(isAbsolute(config.path) ? config.path : resolve(dataDir, config.path));
  if ((config.access_key_id === undefined) !== (config.secret_access_key === undefined)) {
    throw new HydrantError('LAKE_CONFIG_INVALID', `lake (s3 bucket ${config.bucket}): access_key_id and secret_access_key go together; set both, or neither to use the AWS default credential chain`);
  }
  const creds = config.access_key_id === undefined ? undefined : { accessKeyId: config.access_key_id, secretAccessKey: config.secret_access_key ?? '', sessionToken: config.session_token };
  return new S3ObjectStore({
    bucket: config.bucket,
    prefix: config.prefix.replace(/^\/+|\/+$/g, ''),
    region: config.region,
    endpoint: config.endpoint,
    forcePathStyle: config.force_path_style,
    credentials: creds,
    partSize: config.part_size_mib * 1024 * 1024,
    maxAttempts: config.max_attempts,
  });
}
