/**
 * CRC-32 (IEEE, as zlib/gzip) of a byte range. Uses node's native `zlib.crc32` (Node ≥ 20.15)
 * and falls back to a table-driven implementation on older Node 20 releases.
 */
import * as zlib from 'node:zlib';

const native = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

let table: Uint32Array | undefined;
function tableCrc32(data: Uint8Array): number {
  if (table === undefined) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = (table[(crc ^ (data[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** CRC-32 of `data`. */
export const crc32: (data: Uint8Array) => number = native === undefined ? tableCrc32 : (data) => native(data);

/** Slice-by-8 tables: T[k*256+n] is the CRC of byte n followed by k zero bytes. */
const T8 = ((): Int32Array => {
  const t = new Int32Array(256 * 8);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) for (let k = 1; k < 8; k++) t[k * 256 + n] = ((t[(k - 1) * 256 + n] as number) >>> 8) ^ (t[(t[(k - 1) * 256 + n] as number) & 0xff] as number);
  return t;
})();

/**
 * CRC-32 of `b[start, end)` without creating a view. For the small ranges of single records
 * this slice-by-8 loop beats a native call on a fresh subarray (measured ~170 vs ~290 ns for
 * 226 bytes), and the log computes one per record on every append and every read.
 */
export function crc32Range(b: Uint8Array, start: number, end: number): number {
  const t = T8;
  let c = -1;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const a = c ^ ((b[i] as number) | ((b[i + 1] as number) << 8) | ((b[i + 2] as number) << 16) | ((b[i + 3] as number) << 24));
    c = (t[1792 + (a & 0xff)] as number) ^ (t[1536 + ((a >>> 8) & 0xff)] as number) ^ (t[1280 + ((a >>> 16) & 0xff)] as number) ^ (t[1024 + (a >>> 24)] as number)
      ^ (t[768 + (b[i + 4] as number)] as number) ^ (t[512 + (b[i + 5] as number)] as number) ^ (t[256 + (b[i + 6] as number)] as number) ^ (t[b[i + 7] as number] as number);
  }
  for (; i < end; i++) c = (t[(c ^ (b[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

/** Exposed for the test that checks both implementations agree. */
export const crc32Fallback: (data: Uint8Array) => number = tableCrc32;
