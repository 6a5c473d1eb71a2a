/**
 * CRC-32 (IEEE, as zlib/gzip) of a byte range: every block of the stream log is checksummed on
 * append and verified on read, so this runs over every byte the log writes and reads.
 *
 * Implementations, fastest first, all giving the same values (the on-disk format does not
 * depend on which one runs):
 * - `@node-rs/crc32` (a prebuilt native addon per platform, from npm; SIMD/PCLMUL): ~13.9 GB/s
 *   on the 2-core machines measured, against ~1.85 GB/s for node's `zlib.crc32`, whose build has
 *   no SIMD path. Over a 100 KiB block of 500 records that is ~8 µs instead of ~58 µs, ~100 ns
 *   less per 200-byte record; the log's appends spent more on the checksum than on anything
 *   else of their own (docs/benchmarks.md "log").
 * - node's `zlib.crc32` (Node ≥ 20.15), when the addon has no binary for the platform or fails
 *   to load.
 * - a table-driven implementation on older Node 20 releases.
 */
import { createRequire } from 'node:module';
import * as zlib from 'node:zlib';

/** CRC-32 of `data`; `initial` continues the CRC of bytes before it (0: none). */
type Crc = (data: Uint8Array, initial?: number) => number;

function addon(): Crc | undefined {
  try {
    const m = createRequire(import.meta.url)('@node-rs/crc32') as { crc32?: (data: Uint8Array, initial?: number) => number };
    const f = m.crc32;
    // Loaded and agreeing with the reference on a known input ("123456789" -> 0xcbf43926).
    if (typeof f === 'function' && f(Buffer.from('123456789')) === 0xcbf43926 && f(Buffer.from('6789'), f(Buffer.from('12345'))) === 0xcbf43926) return (data, initial = 0) => f(data, initial);
  } catch {
    // No binary for this platform (or it failed to load): the next implementation serves.
  }
  return undefined;
}

const native = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

let table: Uint32Array | undefined;
function tableCrc32(data: Uint8Array, initial = 0): number {
  if (table === undefined) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = (initial ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) crc = (table[(crc ^ (data[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** Node's `zlib.crc32`, or the table when this Node 20 release lacks it. */
const zlibCrc32: Crc = native === undefined ? tableCrc32 : (data, initial = 0) => native(data, initial);

const fromAddon = addon();

/** Which implementation {@link crc32} is (for logs and tests). */
export const crc32Implementation: 'addon' | 'zlib' | 'table' = fromAddon !== undefined ? 'addon' : native !== undefined ? 'zlib' : 'table';

/** CRC-32 of `data`. */
export const crc32: Crc = fromAddon ?? zlibCrc32;

/** Exposed for the test that checks the implementations agree. */
export const crc32Fallback: Crc = tableCrc32;
export const crc32Zlib: Crc = zlibCrc32;
