/**
 * {@link S3ObjectStore}: the lake in an S3 bucket (AWS, MinIO, any S3-compatible server).
 * Small objects are one PutObject; large or streamed bodies use multipart upload, completed
 * only after every part is stored, so no reader ever sees a partial object. Retries with
 * exponential back-off are the SDK's (`maxAttempts`). Exactly-once does not depend on
 * conditional writes (If-None-Match), which some S3-compatible servers ignore.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { crashPoint } from '../../core/crash.ts';
import { ConnectionError, HydrantError } from '../../core/errors.ts';
import type { ObjectInfo, ObjectStore } from '../object-store.ts';
import { validateKey } from '../object-key.ts';

/** Settings of an S3 lake (the pipeline's `lake` section with `type: s3`). */
export interface S3StoreOptions {
  readonly bucket: string;
  /** Key prefix inside the bucket ('' or ending without '/'). */
  readonly prefix: string;
  readonly region: string;
  /** Custom endpoint (MinIO, s3rver); undefined for AWS. */
  readonly endpoint?: string | undefined;
  readonly forcePathStyle: boolean;
  /** Static credentials; undefined uses the SDK's default chain (env, profile, IMDS). */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string | undefined } | undefined;
  /** Multipart part size in bytes (≥ 5 MiB on AWS). Bodies up to this size are one PutObject. */
  readonly partSize: number;
  /** Attempts per request including the first (SDK exponential back-off between them). */
  readonly maxAttempts: number;
}

export class S3ObjectStore implements ObjectStore {
  readonly location: string;
  readonly #client: S3Client;
  readonly #o: S3StoreOptions;

  constructor(options: S3StoreOptions) {
    this.#o = options;
    this.location = `s3://${options.bucket}${options.prefix === '' ? '' : '/' + options.prefix}`;
    this.#client = new S3Client({
      region: options.region,
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      forcePathStyle: options.forcePathStyle,
      ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
      maxAttempts: options.maxAttempts,
      // Servers such as s3rver store aws-chunked bodies with their framing otherwise.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  #key(key: string): string {
    validateKey(key);
    return this.#o.prefix === '' ? key : `${this.#o.prefix}/${key}`;
  }

  #wrap(what: string, key: string, err: unknown): HydrantError {
    const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
    const status = e.$metadata?.httpStatusCode;
    const msg = `S3 ${what} of ${key} in ${this.location} failed${status === undefined ? '' : ` (HTTP ${status})`}: ${e.name ?? ''} ${e.message ?? String(err)}`;
    if (status === undefined || status >= 500) return new ConnectionError(`${msg}. Check the endpoint and network; the runtime retries.`, { cause: err });
    return new HydrantError('LAKE_S3_FAILED', `${msg}. Check the bucket, credentials and permissions.`, { cause: err });
  }

  async put(key: string, body: Uint8Array | AsyncIterable<Uint8Array>, options?: { readonly contentType?: string }): Promise<{ readonly size: number }> {
    const k = this.#key(key);
    const ct = options?.contentType === undefined ? {} : { ContentType: options.contentType };
    if (body instanceof Uint8Array && body.byteLength <= this.#o.partSize) {
      try {
        await this.#client.send(new PutObjectCommand({ Bucket: this.#o.bucket, Key: k, Body: body, ContentLength: body.byteLength, ...ct }));
      } catch (err) {
        throw this.#wrap('PutObject', key, err);
      }
      return { size: body.byteLength };
    }
    return this.#multipart(key, k, body instanceof Uint8Array ? once(body) : body, ct);
  }

  async #multipart(key: string, k: string, body: AsyncIterable<Uint8Array>, ct: { ContentType?: string }): Promise<{ size: number }> {
    let uploadId: string | undefined;
    try {
      const created = await this.#client.send(new CreateMultipartUploadCommand({ Bucket: this.#o.bucket, Key: k, ...ct }));
      uploadId = created.UploadId;
      if (uploadId === undefined) throw new Error('no UploadId in the response');
      const parts: Array<{ ETag: string; PartNumber: number }> = [];
      let size = 0;
      for await (const part of rechunk(body, this.#o.partSize)) {
        const n = parts.length + 1;
        const r = await this.#client.send(new UploadPartCommand({ Bucket: this.#o.bucket, Key: k, UploadId: uploadId, PartNumber: n, Body: part, ContentLength: part.byteLength }));
        parts.push({ ETag: r.ETag ?? '', PartNumber: n });
        size += part.byteLength;
        if (n === 1) crashPoint('lake.mid-multipart');
      }
      if (parts.length === 0) {
        // An empty body: S3 needs at least one part.
        const r = await this.#client.send(new UploadPartCommand({ Bucket: this.#o.bucket, Key: k, UploadId: uploadId, PartNumber: 1, Body: new Uint8Array(0), ContentLength: 0 }));
        parts.push({ ETag: r.ETag ?? '', PartNumber: 1 });
      }
      await this.#client.send(new CompleteMultipartUploadCommand({ Bucket: this.#o.bucket, Key: k, UploadId: uploadId, MultipartUpload: { Parts: parts } }));
      return { size };
    } catch (err) {
      if (uploadId !== undefined) await this.#client.send(new AbortMultipartUploadCommand({ Bucket: this.#o.bucket, Key: k, UploadId: uploadId })).catch(() => {});
      throw this.#wrap('multipart upload', key, err);
    }
  }

  /**
   * Aborts unfinished multipart uploads of a key (left by a crash). Servers that do not
   * implement ListMultipartUploads (s3rver) are skipped: their parts are never visible in a
   * listing; on AWS also set a lifecycle rule AbortIncompleteMultipartUpload.
   */
  async abortUploads(key: string): Promise<void> {
    const k = this.#key(key);
    try {
      const r = await this.#client.send(new ListMultipartUploadsCommand({ Bucket: this.#o.bucket, Prefix: k }));
      for (const u of r.Uploads ?? []) {
        if (u.Key === k && u.UploadId !== undefined) await this.#client.send(new AbortMultipartUploadCommand({ Bucket: this.#o.bucket, Key: k, UploadId: u.UploadId }));
      }
    } catch {
      // Not implemented by the server, or no permission: nothing we can do, nothing visible.
    }
  }

  async get(key: string): Promise<Uint8Array> {
    try {
      const r = await this.#client.send(new GetObjectCommand({ Bucket: this.#o.bucket, Key: this.#key(key) }));
      if (r.Body === undefined) return new Uint8Array(0);
      return await r.Body.transformToByteArray();
    } catch (err) {
      if ((err as { name?: string }).name === 'NoSuchKey') throw new HydrantError('NOT_FOUND', `object ${key} does not exist in ${this.location}`);
      throw this.#wrap('GetObject', key, err);
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const r = await this.#client.send(new HeadObjectCommand({ Bucket: this.#o.bucket, Key: this.#key(key) }));
      return { key, size: r.ContentLength ?? 0 };
    } catch (err) {
      const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404) return undefined;
      throw this.#wrap('HeadObject', key, err);
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const base = this.#o.prefix === '' ? '' : this.#o.prefix + '/';
    const out: ObjectInfo[] = [];
    let token: string | undefined;
    try {
      do {
        const r = await this.#client.send(new ListObjectsV2Command({ Bucket: this.#o.bucket, Prefix: base + prefix, ...(token === undefined ? {} : { ContinuationToken: token }) }));
        for (const o of r.Contents ?? []) if (o.Key !== undefined) out.push({ key: o.Key.slice(base.length), size: o.Size ?? 0 });
        token = r.IsTruncated === true ? r.NextContinuationToken : undefined;
      } while (token !== undefined);
    } catch (err) {
      throw this.#wrap('ListObjectsV2', prefix, err);
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    try {
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.#o.bucket, Key: this.#key(key) }));
    } catch (err) {
      throw this.#wrap('DeleteObject', key, err);
    }
  }

  async close(): Promise<void> {
    this.#client.destroy();
  }
}

async function* once(b: Uint8Array): AsyncIterable<Uint8Array> {
  yield b;
}

/** Regroups a byte stream into parts of exactly `size` bytes (the last may be shorter). */
async function* rechunk(body: AsyncIterable<Uint8Array>, size: number): AsyncIterable<Uint8Array> {
  let buf: Uint8Array[] = [];
  let len = 0;
  for await (const chunk of body) {
    let c = chunk;
    while (len + c.byteLength >= size) {
      const take = size - len;
      buf.push(c.subarray(0, take));
      yield Buffer.concat(buf);
      buf = [];
      len = 0;
      c = c.subarray(take);
    }
    if (c.byteLength > 0) {
      buf.push(c);
      len += c.byteLength;
    }
  }
  if (len > 0) yield Buffer.concat(buf);
}
