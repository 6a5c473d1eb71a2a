/**
 * MD5 of a string's UTF-8 bytes, in JavaScript, for routing partition keys to shards.
 *
 * Why not node:crypto: every record of every append is hashed, and a native `hash('md5', …)`
 * call costs ~1.9 µs here (OpenSSL 3 per-call setup), more than the rest of the append. Keys
 * are short (one or a few 64-byte blocks), where this plain implementation takes ~0.1-0.2 µs.
 * It is checked against node:crypto on random keys (ASCII, multi-byte, surrogates, every
 * length around the block boundaries) in test/stream/md5.test.ts.
 */

import { hash } from 'node:crypto';
import { endianness } from 'node:os';

/** The word view below reads bytes little-endian; a big-endian host uses node:crypto instead. */
const LITTLE_ENDIAN = endianness() === 'LE';

/** Scratch for the UTF-8 bytes of one key plus padding; grown for long keys. */
let bytes = Buffer.allocUnsafe(1024);
let words = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.length >> 2);

/** UTF-8 encoder (lone surrogates become U+FFFD, as in node:crypto's string hashing). */
const utf8 = new TextEncoder();

/** Per-round shift amounts and sine constants (RFC 1321). */
const S = [7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21];
const K = new Int32Array(64);
for (let i = 0; i < 64; i++) K[i] = Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) | 0;
const SH = new Int32Array(S);

/**
 * Writes the MD5 state words (a, b, c, d: the digest as four little-endian 32-bit words) of
 * the UTF-8 bytes of `s` into `out`.
 */
export function md5Words(s: string, out: Int32Array): void {
  if (!LITTLE_ENDIAN) {
    const h = hash('md5', s, 'buffer');
    for (let i = 0; i < 4; i++) out[i] = h.readInt32LE(i * 4);
    return;
  }
  // Worst case 3 bytes per UTF-16 unit, plus 0x80, padding and the 8-byte length.
  const need = s.length * 3 + 72;
  if (need > bytes.length) {
    bytes = Buffer.allocUnsafe(Math.max(need, bytes.length * 2) + 63 & ~63);
    words = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.length >> 2);
  }
  const n = utf8.encodeInto(s, bytes).written;
  const blocks = ((n + 8) >>> 6) + 1;
  const end = blocks << 6;
  // Padding: 0x80, zeros up to the last 8 bytes, then the bit length (little-endian words;
  // cheaper than Buffer.fill + writeUInt32LE per key).
  bytes[n] = 0x80;
  for (let i = n + 1; (i & 3) !== 0; i++) bytes[i] = 0;
  const w = words;
  const last = (end >>> 2) - 2;
  for (let i = (n >>> 2) + 1; i < last; i++) w[i] = 0;
  const bits = n * 8;
  w[last] = bits | 0;
  w[last + 1] = Math.floor(bits / 0x100000000);
  let a = 0x67452301;
  let b = 0xefcdab89 | 0;
  let c = 0x98badcfe | 0;
  let d = 0x10325476;
  for (let blk = 0; blk < blocks; blk++) {
    const o = blk << 4;
    let aa = a;
    let bb = b;
    let cc = c;
    let dd = d;
    // The four rounds as separate loops: no per-step branch on the round.
    for (let i = 0; i < 16; i++) {
      const t = (aa + ((bb & cc) | (~bb & dd)) + (K[i] as number) + (w[o + i] as number)) | 0;
      const sh = SH[i] as number;
      aa = dd;
      dd = cc;
      cc = bb;
      bb = (bb + ((t << sh) | (t >>> (32 - sh)))) | 0;
    }
    for (let i = 16; i < 32; i++) {
      const t = (aa + ((dd & bb) | (~dd & cc)) + (K[i] as number) + (w[o + ((5 * i + 1) & 15)] as number)) | 0;
      const sh = SH[i] as number;
      aa = dd;
      dd = cc;
      cc = bb;
      bb = (bb + ((t << sh) | (t >>> (32 - sh)))) | 0;
    }
    for (let i = 32; i < 48; i++) {
      const t = (aa + (bb ^ cc ^ dd) + (K[i] as number) + (w[o + ((3 * i + 5) & 15)] as number)) | 0;
      const sh = SH[i] as number;
      aa = dd;
      dd = cc;
      cc = bb;
      bb = (bb + ((t << sh) | (t >>> (32 - sh)))) | 0;
    }
    for (let i = 48; i < 64; i++) {
      const t = (aa + (cc ^ (bb | ~dd)) + (K[i] as number) + (w[o + ((7 * i) & 15)] as number)) | 0;
      const sh = SH[i] as number;
      aa = dd;
      dd = cc;
      cc = bb;
      bb = (bb + ((t << sh) | (t >>> (32 - sh)))) | 0;
    }
    a = (a + aa) | 0;
    b = (b + bb) | 0;
    c = (c + cc) | 0;
    d = (d + dd) | 0;
  }
  out[0] = a;
  out[1] = b;
  out[2] = c;
  out[3] = d;
}

const scratch = new Int32Array(4);

/** The MD5 digest of the UTF-8 bytes of `s` (16 bytes, as node:crypto returns it). */
export function md5(s: string): Buffer {
  md5Words(s, scratch);
  const out = Buffer.allocUnsafe(16);
  for (let i = 0; i < 4; i++) out.writeInt32LE(scratch[i] as number, i * 4);
  return out;
}
