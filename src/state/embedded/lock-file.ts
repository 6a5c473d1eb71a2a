/**
 * A single writer per state directory: an exclusive lock file (hard-linked into place, which
 * fails when it exists, like O_EXCL, but never exposes a half-written file) holding the
 * owner's pid and host. A lock whose pid is no longer alive on this host is stale (the owner
 * was killed) and is taken over; a lock from another host cannot be checked and is respected.
 */
import { hostname } from 'node:os';
import { link, open, readFile, rename, unlink } from 'node:fs/promises';
import { StateLockedError } from '../errors.ts';
import type { Logger } from '../../core/logger.ts';

interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly since: string;
}

/** A held lock; {@link LockFile.release} removes it. */
export class LockFile {
  readonly #path: string;
  #held = true;

  private constructor(path: string) {
    this.#path = path;
  }

  /** Takes the lock at `path` or throws a {@link StateLockedError} naming the live owner. */
  static async acquire(path: string, logger: Logger): Promise<LockFile> {
    const me: LockOwner = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
    for (let attempt = 0; attempt < 5; attempt++) {
      // Written aside and hard-linked into place, so a lock file is never seen half written.
      const tmp = `${path}.tmp-${process.pid}`;
      const fh = await open(tmp, 'w');
      try {
        await fh.writeFile(JSON.stringify(me) + '\n');
        await fh.sync();
      } finally {
        await fh.close();
      }
      try {
        await link(tmp, path);
        return new LockFile(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      } finally {
        await unlink(tmp);
      }
      const owner = await readOwner(path);
      if (owner === 'gone') continue;
      if (owner !== 'unreadable') {
        if (owner.host !== me.host) {
          throw new StateLockedError(`state directory lock ${path} is held by pid ${owner.pid} on host ${owner.host} (since ${owner.since}); only one process may use a data_dir. If that process is certainly gone, delete the lock file.`, { path, pid: owner.pid, host: owner.host });
        }
        if (isAlive(owner.pid)) {
          throw new StateLockedError(`state directory lock ${path} is held by live process ${owner.pid}${owner.pid === process.pid ? ' (this process: the store is already open)' : ''} since ${owner.since}; only one process may use a data_dir. Stop it or use another data_dir.`, { path, pid: owner.pid });
        }
      }
      // Rename first so two processes clearing the same stale lock cannot both succeed.
      const aside = `${path}.stale-${process.pid}`;
      try {
        await rename(path, aside);
        await unlink(aside);
        logger.warn('took over a stale state lock', { path, previousPid: owner === 'unreadable' ? undefined : owner.pid });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    throw new StateLockedError(`could not take state directory lock ${path}: it kept changing owners; another process is starting on the same data_dir.`, { path });
  }

  /** Removes the lock file; safe to call twice. */
  async release(): Promise<void> {
    if (!this.#held) return;
    this.#held = false;
    await unlink(this.#path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }
}

async function readOwner(path: string): Promise<LockOwner | 'gone' | 'unreadable'> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw err;
  }
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
    if (typeof o.pid === 'number' && typeof o.host === 'string') return { pid: o.pid, host: o.host, since: String(o.since) };
  } catch {
    // fall through: a lock cut short by a crash while being written is stale
  }
  return 'unreadable';
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
