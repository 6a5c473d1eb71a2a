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
  const len = s.length;
  const need = len * 3 + 72;
  if (need > bytes.length) {
    bytes = Buffer.allocUnsafe(Math.max(need, bytes.length * 2) + 63 & ~63);
    words = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.length >> 2);
  }
  // Keys are nearly always ASCII: a byte loop beats TextEncoder.encodeInto (a native call,
  // ~0.2-0.4 us here) for short keys; anything else is re-encoded by encodeInto.
  let n = len;
  for (let i = 0; i < len; i++) {
    const ch = s.charCodeAt(i);
    if (ch >= 0x80) {
      n = utf8.encodeInto(s, bytes).written;
      break;
    }
    bytes[i] = ch;
  }
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
  let a0 = 0x67452301;
  let b0 = 0xefcdab89 | 0;
  let c0 = 0x98badcfe | 0;
  let d0 = 0x10325476;
  for (let o = 0; o < end >>> 2; o += 16) {
    let a = a0;
    let b = b0;
    let c = c0;
    let d = d0;
    let t = 0;
    const x0 = w[o + 0] as number;
    const x1 = w[o + 1] as number;
    const x2 = w[o + 2] as number;
    const x3 = w[o + 3] as number;
    const x4 = w[o + 4] as number;
    const x5 = w[o + 5] as number;
    const x6 = w[o + 6] as number;
    const x7 = w[o + 7] as number;
    const x8 = w[o + 8] as number;
    const x9 = w[o + 9] as number;
    const x10 = w[o + 10] as number;
    const x11 = w[o + 11] as number;
    const x12 = w[o + 12] as number;
    const x13 = w[o + 13] as number;
    const x14 = w[o + 14] as number;
    const x15 = w[o + 15] as number;
    t = (a + (((b & c) | (~b & d))) + x0 + -0x28955b88) | 0;
    a = (((t << 7) | (t >>> 25)) + b) | 0;
    t = (d + (((a & b) | (~a & c))) + x1 + -0x173848aa) | 0;
    d = (((t << 12) | (t >>> 20)) + a) | 0;
    t = (c + (((d & a) | (~d & b))) + x2 + 0x242070db) | 0;
    c = (((t << 17) | (t >>> 15)) + d) | 0;
    t = (b + (((c & d) | (~c & a))) + x3 + -0x3e423112) | 0;
    b = (((t << 22) | (t >>> 10)) + c) | 0;
    t = (a + (((b & c) | (~b & d))) + x4 + -0xa83f051) | 0;
    a = (((t << 7) | (t >>> 25)) + b) | 0;
    t = (d + (((a & b) | (~a & c))) + x5 + 0x4787c62a) | 0;
    d = (((t << 12) | (t >>> 20)) + a) | 0;
    t = (c + (((d & a) | (~d & b))) + x6 + -0x57cfb9ed) | 0;
    c = (((t << 17) | (t >>> 15)) + d) | 0;
    t = (b + (((c & d) | (~c & a))) + x7 + -0x2b96aff) | 0;
    b = (((t << 22) | (t >>> 10)) + c) | 0;
    t = (a + (((b & c) | (~b & d))) + x8 + 0x698098d8) | 0;
    a = (((t << 7) | (t >>> 25)) + b) | 0;
    t = (d + (((a & b) | (~a & c))) + x9 + -0x74bb0851) | 0;
    d = (((t << 12) | (t >>> 20)) + a) | 0;
    t = (c + (((d & a) | (~d & b))) + x10 + -0xa44f) | 0;
    c = (((t << 17) | (t >>> 15)) + d) | 0;
    t = (b + (((c & d) | (~c & a))) + x11 + -0x76a32842) | 0;
    b = (((t << 22) | (t >>> 10)) + c) | 0;
    t = (a + (((b & c) | (~b & d))) + x12 + 0x6b901122) | 0;
    a = (((t << 7) | (t >>> 25)) + b) | 0;
    t = (d + (((a & b) | (~a & c))) + x13 + -0x2678e6d) | 0;
    d = (((t << 12) | (t >>> 20)) + a) | 0;
    t = (c + (((d & a) | (~d & b))) + x14 + -0x5986bc72) | 0;
    c = (((t << 17) | (t >>> 15)) + d) | 0;
    t = (b + (((c & d) | (~c & a))) + x15 + 0x49b40821) | 0;
    b = (((t << 22) | (t >>> 10)) + c) | 0;
    t = (a + (((b & d) | (c & ~d))) + x1 + -0x9e1da9e) | 0;
    a = (((t << 5) | (t >>> 27)) + b) | 0;
    t = (d + (((a & c) | (b & ~c))) + x6 + -0x3fbf4cc0) | 0;
    d = (((t << 9) | (t >>> 23)) + a) | 0;
    t = (c + (((d & b) | (a & ~b))) + x11 + 0x265e5a51) | 0;
    c = (((t << 14) | (t >>> 18)) + d) | 0;
    t = (b + (((c & a) | (d & ~a))) + x0 + -0x16493856) | 0;
    b = (((t << 20) | (t >>> 12)) + c) | 0;
    t = (a + (((b & d) | (c & ~d))) + x5 + -0x29d0efa3) | 0;
    a = (((t << 5) | (t >>> 27)) + b) | 0;
    t = (d + (((a & c) | (b & ~c))) + x10 + 0x2441453) | 0;
    d = (((t << 9) | (t >>> 23)) + a) | 0;
    t = (c + (((d & b) | (a & ~b))) + x15 + -0x275e197f) | 0;
    c = (((t << 14) | (t >>> 18)) + d) | 0;
    t = (b + (((c & a) | (d & ~a))) + x4 + -0x182c0438) | 0;
    b = (((t << 20) | (t >>> 12)) + c) | 0;
    t = (a + (((b & d) | (c & ~d))) + x9 + 0x21e1cde6) | 0;
    a = (((t << 5) | (t >>> 27)) + b) | 0;
    t = (d + (((a & c) | (b & ~c))) + x14 + -0x3cc8f82a) | 0;
    d = (((t << 9) | (t >>> 23)) + a) | 0;
    t = (c + (((d & b) | (a & ~b))) + x3 + -0xb2af279) | 0;
    c = (((t << 14) | (t >>> 18)) + d) | 0;
    t = (b + (((c & a) | (d & ~a))) + x8 + 0x455a14ed) | 0;
    b = (((t << 20) | (t >>> 12)) + c) | 0;
    t = (a + (((b & d) | (c & ~d))) + x13 + -0x561c16fb) | 0;
    a = (((t << 5) | (t >>> 27)) + b) | 0;
    t = (d + (((a & c) | (b & ~c))) + x2 + -0x3105c08) | 0;
    d = (((t << 9) | (t >>> 23)) + a) | 0;
    t = (c + (((d & b) | (a & ~b))) + x7 + 0x676f02d9) | 0;
    c = (((t << 14) | (t >>> 18)) + d) | 0;
    t = (b + (((c & a) | (d & ~a))) + x12 + -0x72d5b376) | 0;
    b = (((t << 20) | (t >>> 12)) + c) | 0;
    t = (a + (b ^ c ^ d) + x5 + -0x5c6be) | 0;
    a = (((t << 4) | (t >>> 28)) + b) | 0;
    t = (d + (a ^ b ^ c) + x8 + -0x788e097f) | 0;
    d = (((t << 11) | (t >>> 21)) + a) | 0;
    t = (c + (d ^ a ^ b) + x11 + 0x6d9d6122) | 0;
    c = (((t << 16) | (t >>> 16)) + d) | 0;
    t = (b + (c ^ d ^ a) + x14 + -0x21ac7f4) | 0;
    b = (((t << 23) | (t >>> 9)) + c) | 0;
    t = (a + (b ^ c ^ d) + x1 + -0x5b4115bc) | 0;
    a = (((t << 4) | (t >>> 28)) + b) | 0;
    t = (d + (a ^ b ^ c) + x4 + 0x4bdecfa9) | 0;
    d = (((t << 11) | (t >>> 21)) + a) | 0;
    t = (c + (d ^ a ^ b) + x7 + -0x944b4a0) | 0;
    c = (((t << 16) | (t >>> 16)) + d) | 0;
    t = (b + (c ^ d ^ a) + x10 + -0x41404390) | 0;
    b = (((t << 23) | (t >>> 9)) + c) | 0;
    t = (a + (b ^ c ^ d) + x13 + 0x289b7ec6) | 0;
    a = (((t << 4) | (t >>> 28)) + b) | 0;
    t = (d + (a ^ b ^ c) + x0 + -0x155ed806) | 0;
    d = (((t << 11) | (t >>> 21)) + a) | 0;
    t = (c + (d ^ a ^ b) + x3 + -0x2b10cf7b) | 0;
    c = (((t << 16) | (t >>> 16)) + d) | 0;
    t = (b + (c ^ d ^ a) + x6 + 0x4881d05) | 0;
    b = (((t << 23) | (t >>> 9)) + c) | 0;
    t = (a + (b ^ c ^ d) + x9 + -0x262b2fc7) | 0;
    a = (((t << 4) | (t >>> 28)) + b) | 0;
    t = (d + (a ^ b ^ c) + x12 + -0x1924661b) | 0;
    d = (((t << 11) | (t >>> 21)) + a) | 0;
    t = (c + (d ^ a ^ b) + x15 + 0x1fa27cf8) | 0;
    c = (((t << 16) | (t >>> 16)) + d) | 0;
    t = (b + (c ^ d ^ a) + x2 + -0x3b53a99b) | 0;
    b = (((t << 23) | (t >>> 9)) + c) | 0;
    t = (a + (c ^ (b | ~d)) + x0 + -0xbd6ddbc) | 0;
    a = (((t << 6) | (t >>> 26)) + b) | 0;
    t = (d + (b ^ (a | ~c)) + x7 + 0x432aff97) | 0;
    d = (((t << 10) | (t >>> 22)) + a) | 0;
    t = (c + (a ^ (d | ~b)) + x14 + -0x546bdc59) | 0;
    c = (((t << 15) | (t >>> 17)) + d) | 0;
    t = (b + (d ^ (c | ~a)) + x5 + -0x36c5fc7) | 0;
    b = (((t << 21) | (t >>> 11)) + c) | 0;
    t = (a + (c ^ (b | ~d)) + x12 + 0x655b59c3) | 0;
    a = (((t << 6) | (t >>> 26)) + b) | 0;
    t = (d + (b ^ (a | ~c)) + x3 + -0x70f3336e) | 0;
    d = (((t << 10) | (t >>> 22)) + a) | 0;
    t = (c + (a ^ (d | ~b)) + x10 + -0x100b83) | 0;
    c = (((t << 15) | (t >>> 17)) + d) | 0;
    t = (b + (d ^ (c | ~a)) + x1 + -0x7a7ba22f) | 0;
    b = (((t << 21) | (t >>> 11)) + c) | 0;
    t = (a + (c ^ (b | ~d)) + x8 + 0x6fa87e4f) | 0;
    a = (((t << 6) | (t >>> 26)) + b) | 0;
    t = (d + (b ^ (a | ~c)) + x15 + -0x1d31920) | 0;
    d = (((t << 10) | (t >>> 22)) + a) | 0;
    t = (c + (a ^ (d | ~b)) + x6 + -0x5cfebcec) | 0;
    c = (((t << 15) | (t >>> 17)) + d) | 0;
    t = (b + (d ^ (c | ~a)) + x13 + 0x4e0811a1) | 0;
    b = (((t << 21) | (t >>> 11)) + c) | 0;
    t = (a + (c ^ (b | ~d)) + x4 + -0x8ac817e) | 0;
    a = (((t << 6) | (t >>> 26)) + b) | 0;
    t = (d + (b ^ (a | ~c)) + x11 + -0x42c50dcb) | 0;
    d = (((t << 10) | (t >>> 22)) + a) | 0;
    t = (c + (a ^ (d | ~b)) + x2 + 0x2ad7d2bb) | 0;
    c = (((t << 15) | (t >>> 17)) + d) | 0;
    t = (b + (d ^ (c | ~a)) + x9 + -0x14792c6f) | 0;
    b = (((t << 21) | (t >>> 11)) + c) | 0;
    a0 = (a0 + a) | 0;
    b0 = (b0 + b) | 0;
    c0 = (c0 + c) | 0;
    d0 = (d0 + d) | 0;
  }
  out[0] = a0;
  out[1] = b0;
  out[2] = c0;
  out[3] = d0;
}

const scratch = new Int32Array(4);

/** The MD5 digest of the UTF-8 bytes of `s` (16 bytes, as node:crypto returns it). */
export function md5(s: string): Buffer {
  md5Words(s, scratch);
  const out = Buffer.allocUnsafe(16);
  for (let i = 0; i < 4; i++) out.writeInt32LE(scratch[i] as number, i * 4);
  return out;
}
