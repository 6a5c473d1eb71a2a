/**
 * Object stores behind one interface: a local directory (default) and S3. Writers never
 * expose a partial object: `put` is all-or-nothing as seen by `get`/`list` (local: temp name
 * + rename; S3: single PUT or multipart completed at the end). Keys use `/` separators.
 * Implementations must pass `test/lake/object-store-conformance.ts`.
 */
export interface ObjectInfo {
  readonly key: string;
  readonly size: number;
}

export interface ObjectStore {
  /** Human-readable location, e.g. `file:///data/lake` or `s3://bucket/prefix`. */
  readonly location: string;
  /** Writes an object atomically (replacing one of the same key). */
  put(key: string, body: Uint8Array | AsyncIterable<Uint8Array>, options?: { readonly contentType?: string }): Promise<{ readonly size: number }>;
  get(key: string): Promise<Uint8Array>;
  /** Size of an object, or undefined when absent. */
  head(key: string): Promise<ObjectInfo | undefined>;
  /** Objects under a prefix, sorted by key. */
  list(prefix: string): Promise<ObjectInfo[]>;
  /** Deletes an object; no error when absent. */
  delete(key: string): Promise<void>;
  close(): Promise<void>;
}
