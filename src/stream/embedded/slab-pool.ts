/**
 * Reusable write buffers for encoded batches. A batch is encoded into part of a slab; the
 * shard writer releases it once its `writev` returned (the kernel holds a copy then), and a
 * slab whose batches are all released is written from its start again.
 *
 * Why reuse instead of letting the GC free them: a fresh multi-MiB allocation is new memory
 * from the kernel (mmap), so its first write page-faults every 4 KiB. Measured here, filling
 * a fresh 4 MiB slab took ~1.4 ms against ~0.3 ms for a reused one, ~55 ns per 200-byte record
 * (and the producers of the raw limit in `bench/log.ts` reuse malloc'd memory for free).
 * Large source batches (a PostgreSQL drain appends ~4.5 MB at a time) paid it on every append.
 *
 * Not thread-safe and not needed to be: one pool per process, used from the main thread.
 */

/** Smallest slab; batches above a quarter of it get a slab sized to them (rounded up). */
export const SLAB_BYTES = 4 << 20;
/** Free slabs kept for reuse, in bytes; beyond it released slabs go to the GC. */
const KEEP_FREE_BYTES = 32 << 20;
const ROUND = 1 << 20;

/** One buffer batches are carved from; `refs` counts carved batches not yet released. */
export interface Slab {
  readonly buf: Buffer;
  used: number;
  refs: number;
}

export class SlabPool {
  #current: Slab | undefined;
  #free: Slab[] = [];
  #freeBytes = 0;

  /** Room for `size` bytes at `start` of `slab.buf`; call `commit` with the real end, then `release` once written. */
  carve(size: number): { slab: Slab; start: number } {
    let slab = this.#current;
    if (slab === undefined || slab.used + size > slab.buf.length) {
      if (slab !== undefined && slab.refs === 0) this.#keep(slab);
      slab = this.#take(size);
      this.#current = slab;
    }
    slab.refs++;
    return { slab, start: slab.used };
  }

  /** Marks the slab used up to `end` (the bytes really written, not the bound asked for). */
  commit(slab: Slab, end: number): void {
    slab.used = (end + 7) & ~7;
  }

  /** The batch carved from `slab` is written (or abandoned): its bytes may be overwritten. */
  release(slab: Slab): void {
    if (--slab.refs > 0) return;
    // Nothing carved from it is alive: the current slab starts over, any other is kept.
    if (slab === this.#current) slab.used = 0;
    else this.#keep(slab);
  }

  #take(size: number): Slab {
    for (let i = 0; i < this.#free.length; i++) {
      const s = this.#free[i] as Slab;
      if (s.buf.length >= size) {
        this.#free.splice(i, 1);
        this.#freeBytes -= s.buf.length;
        s.used = 0;
        return s;
      }
    }
    const bytes = size <= SLAB_BYTES / 4 ? SLAB_BYTES : Math.ceil(size / ROUND) * ROUND;
    return { buf: Buffer.allocUnsafeSlow(bytes), used: 0, refs: 0 };
  }

  #keep(slab: Slab): void {
    if (this.#freeBytes + slab.buf.length > KEEP_FREE_BYTES) return;
    this.#free.push(slab);
    this.#freeBytes += slab.buf.length;
  }
}

/** The process's pool for shard writers. */
export const appendSlabs = new SlabPool();
