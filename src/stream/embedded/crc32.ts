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

/** Exposed for the test that checks both implementations agree. */
export const crc32Fallback: (data: Uint8Array) => number = tableCrc32;
