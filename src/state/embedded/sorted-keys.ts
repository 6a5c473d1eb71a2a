/**
 * Keys kept in sorted order (binary search, splice), so `list(prefix)` is a range scan rather
 * than a sort of every key on each call. Ordering is by UTF-16 code units, like `Array.sort`.
 */
export class SortedKeys {
  readonly #keys: string[] = [];

  get size(): number {
    return this.#keys.length;
  }

  /** Adds a key (no-op when present). */
  insert(key: string): void {
    const i = this.#lowerBound(key);
    if (this.#keys[i] !== key) this.#keys.splice(i, 0, key);
  }

  /** Removes a key (no-op when absent). */
  delete(key: string): void {
    const i = this.#lowerBound(key);
    if (this.#keys[i] === key) this.#keys.splice(i, 1);
  }

  /** Every key starting with `prefix`, in order. */
  withPrefix(prefix: string): string[] {
    const out: string[] = [];
    for (let i = this.#lowerBound(prefix); i < this.#keys.length; i++) {
      const k = this.#keys[i] as string;
      if (!k.startsWith(prefix)) break;
      out.push(k);
    }
    return out;
  }

  /** All keys in order (a view; do not mutate). */
  all(): readonly string[] {
    return this.#keys;
  }

  #lowerBound(key: string): number {
    let lo = 0;
    let hi = this.#keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.#keys[mid] as string) < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
