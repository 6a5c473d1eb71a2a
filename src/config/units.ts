/**
 * Durations and byte sizes for component config schemas. Users write `500ms`, `60s`, `5m`,
 * `24h`, `7d` (or `1h30m`) and `64MiB`, `1GB`, `512KiB`, `4096`; components receive plain
 * numbers (milliseconds, bytes). Both schemas are tagged with `unit` metadata so the generated
 * docs show "duration" / "byte size" rather than "number | string".
 *
 * ```ts
 * const config = z.strictObject({
 *   flush_interval: duration().prefault('60s').describe('Longest time a batch waits.'),
 *   max_object_size: byteSize().prefault('128MiB').describe('Largest object written.'),
 * });
 * ```
 * Use `.prefault('60s')` (the default goes through the parser) or `.default(60_000)` (the
 * default is already the parsed number); `.default('60s')` does not typecheck.
 */
import { z } from 'zod';

const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const SIZE_UNITS: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12,
  kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40,
};

/** Parses `1h30m`, `500ms`, `7d` into milliseconds; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const s = text.trim();
  if (!/^(\d+(\.\d+)?\s*(ms|s|m|h|d|w)\s*)+$/i.test(s)) return undefined;
  let total = 0;
  for (const m of s.matchAll(/(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)/gi)) total += Number(m[1]) * (DURATION_UNITS[(m[2] as string).toLowerCase()] as number);
  return Math.round(total);
}

/** Parses `64MiB`, `1GB`, `512 KiB`, `100B` or plain digits into bytes; undefined when malformed. */
export function parseByteSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]i?b|b)?$/i.exec(text.trim());
  if (m === null) return undefined;
  const bytes = Number(m[1]) * (SIZE_UNITS[(m[2] ?? 'b').toLowerCase()] as number);
  return Number.isSafeInteger(Math.round(bytes)) ? Math.round(bytes) : undefined;
}

/** Renders milliseconds the way a user would write them (`90s` → `1m30s`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const [u, f] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000], ['ms', 1]] as const) {
    if (rest >= f) {
      out += `${Math.floor(rest / f)}${u}`;
      rest %= f;
    }
  }
  return out;
}

/** Renders bytes with the largest exact binary unit (`67108864` → `64MiB`). */
export function formatByteSize(bytes: number): string {
  for (const [u, f] of [['TiB', 2 ** 40], ['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10]] as const) {
    if (bytes >= f && bytes % f === 0) return `${bytes / f}${u}`;
  }
  return String(bytes);
}

/**
 * A duration: a string like `500ms`, `60s`, `5m`, `24h`, `7d`, `1h30m`, or a number of
 * milliseconds. Parses to milliseconds.
 */
export function duration(options: { min?: number; max?: number } = {}) {
  return z
    .union([z.number(), z.string()])
    .transform((v, ctx) => {
      const ms = typeof v === 'number' ? v : parseDuration(v);
      if (ms === undefined || !Number.isFinite(ms) || ms < 0) {
        ctx.addIssue({ code: 'custom', message: `expected a duration such as 500ms, 60s, 5m, 24h or 7d (or milliseconds), found ${typeof v === 'number' ? v : JSON.stringify(v)}`, input: v });
        return z.NEVER;
      }
      if (options.min !== undefined && ms < options.min) {
        ctx.addIssue({ code: 'custom', message: `expected a duration of at least ${formatDuration(options.min)}, found ${formatDuration(ms)}`, input: v });
        return z.NEVER;
      }
      if (options.max !== undefined && ms > options.max) {
        ctx.addIssue({ code: 'custom', message: `expected a duration of at most ${formatDuration(options.max)}, found ${formatDuration(ms)}`, input: v });
        return z.NEVER;
      }
      return ms;
    })
    .meta({ unit: 'duration' });
}

/**
 * A byte size: `64MiB`, `1GB`, `512KiB`, `100B` or a plain number of bytes. Decimal units
 * (kB, MB, GB) are powers of 1000, binary ones (KiB, MiB, GiB) powers of 1024. Parses to bytes.
 */
export function byteSize(options: { min?: number; max?: number } = {}) {
  return z
    .union([z.number(), z.string()])
    .transform((v, ctx) => {
      const bytes = typeof v === 'number' ? (Number.isSafeInteger(v) ? v : undefined) : parseByteSize(v);
      if (bytes === undefined || bytes < 0) {
        ctx.addIssue({ code: 'custom', message: `expected a size such as 64MiB, 1GB, 512KiB or a whole number of bytes, found ${typeof v === 'number' ? v : JSON.stringify(v)}`, input: v });
        return z.NEVER;
      }
      if (options.min !== undefined && bytes < options.min) {
        ctx.addIssue({ code: 'custom', message: `expected a size of at least ${formatByteSize(options.min)}, found ${formatByteSize(bytes)}`, input: v });
        return z.NEVER;
      }
      if (options.max !== undefined && bytes > options.max) {
        ctx.addIssue({ code: 'custom', message: `expected a size of at most ${formatByteSize(options.max)}, found ${formatByteSize(bytes)}`, input: v });
        return z.NEVER;
      }
      return bytes;
    })
    .meta({ unit: 'byte size' });
}
