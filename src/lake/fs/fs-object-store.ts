/**
 * {@link FsObjectStore}: the lake in a local directory. A put writes a temporary file under
 * `<root>/.hydrant-tmp/`, fsyncs it, renames it onto the key's path and fsyncs the directory,
 * so a reader (or `ls -R`) sees either the whole object or nothing. Listings skip the temp
 * directory.
 */
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { randomBytes } from 'node:crypto';
import { HydrantError } from '../../core/errors.ts';
import { fsyncDir } from '../../core/fs-sync.ts';
import type { ObjectInfo, ObjectStore } from '../object-store.ts';
import { validateKey } from '../object-key.ts';

/** Name of the directory that holds in-flight writes; never part of a listing. */
export const FS_TEMP_DIR = '.hydrant-tmp';

export class FsObjectStore implements ObjectStore {
  readonly location: string;
  readonly #root: string;

  /** @param root absolute directory of the lake; created when missing. */
  constructor(root: string) {
    this.#root = root;
    this.location = `file://${root}`;
  }

  /** Absolute path of a key (for readers such as DuckDB that open files directly). */
  pathOf(key: string): string {
    validateKey(key);
    return join(this.#root, ...key.split('/'));
  }

  async put(key: string, body: Uint8Array | AsyncIterable<Uint8Array>, _options?: { readonly contentType?: string }): Promise<{ readonly size: number }> {
    const target = this.pathOf(key);
    const tmpDir = join(this.#root, FS_TEMP_DIR);
    await mkdir(tmpDir, { recursive: true });
    const tmp = join(tmpDir, `${randomBytes(8).toString('hex')}.part`);
    const fh = await open(tmp, 'w');
    let size = 0;
    try {
      if (body instanceof Uint8Array) {
        await fh.write(body);
        size = body.byteLength;
      } else {
        for await (const chunk of body) {
          await fh.write(chunk);
          size += chunk.byteLength;
        }
      }
      await fh.sync();
    } catch (err) {
      await fh.close().catch(() => {});
      await unlink(tmp).catch(() => {});
      throw new HydrantError('LAKE_WRITE_FAILED', `could not write object ${key} in ${this.location}: ${(err as Error).message}. Check free space and permissions.`, { cause: err });
    }
    await fh.close();
    await mkdir(dirname(target), { recursive: true });
    await rename(tmp, target);
    await fsyncDir(dirname(target));
    return { size };
  }

  /** Moves an already written local file into place (same file system), e.g. DuckDB output. */
  async adoptFile(key: string, file: string): Promise<{ readonly size: number }> {
    const target = this.pathOf(key);
    const fh = await open(file, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await mkdir(dirname(target), { recursive: true });
    await rename(file, target);
    await fsyncDir(dirname(target));
    return { size: (await stat(target)).size };
  }

  /** A directory for temporary files on the same file system (so `adoptFile` is a rename). */
  async tempDir(): Promise<string> {
    const d = join(this.#root, FS_TEMP_DIR);
    await mkdir(d, { recursive: true });
    return d;
  }

  async get(key: string): Promise<Uint8Array> {
    try {
      return new Uint8Array(await readFile(this.pathOf(key)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new HydrantError('NOT_FOUND', `object ${key} does not exist in ${this.location}`);
      throw err;
    }
  }

  /** Streams an object (for large objects). */
  stream(key: string): AsyncIterable<Uint8Array> {
    return createReadStream(this.pathOf(key));
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const s = await stat(this.pathOf(key));
      return s.isFile() ? { key, size: s.size } : undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    // Walk only the deepest directory the prefix names fully.
    const slash = prefix.lastIndexOf('/');
    const base = slash < 0 ? '' : prefix.slice(0, slash);
    await this.#walk(base === '' ? this.#root : join(this.#root, ...base.split('/')), prefix, out);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async #walk(dir: string, prefix: string, out: ObjectInfo[]): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return;
      throw err;
    }
    for (const e of entries) {
      const p = join(dir, e.name);
      const key = relative(this.#root, p).split(sep).join('/');
      if (key === FS_TEMP_DIR) continue;
      if (e.isDirectory()) {
        if (key.startsWith(prefix) || prefix.startsWith(key + '/')) await this.#walk(p, prefix, out);
      } else if (e.isFile() && key.startsWith(prefix)) {
        out.push({ key, size: (await stat(p)).size });
      }
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  async close(): Promise<void> {}
}

