/**
 * Record framing shared by the journal and snapshot files:
 *
 * ```
 * [u32 LE payload length][u32 LE crc32 of the length bytes][u32 LE crc32 of the payload][payload]
 * ```
 *
 * The length carries its own checksum so a damaged length is told apart from a write that
 * was cut short: only a frame whose header is intact but whose payload runs past the end of
 * the file (or fails its checksum as the very last frame) can be a torn tail.
 */
import { crc32 } from 'node:zlib';

/** Bytes before each payload. */
export const FRAME_HEADER_BYTES = 12;

/** Refuses absurd lengths early: no single transaction or snapshot chunk is this large. */
export const MAX_FRAME_BYTES = 1 << 30;

/** Frames one JSON-serialisable payload. */
export function encodeFrame(payload: unknown): Buffer {
  return encodeJsonFrame(JSON.stringify(payload));
}

/** Frames JSON text that is already serialised (snapshots splice stored value texts). */
export function encodeJsonFrame(json: string): Buffer {
  const body = Buffer.from(json, 'utf8');
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.length);
  out.writeUInt32LE(body.length, 0);
  out.writeUInt32LE(crc32(out.subarray(0, 4)), 4);
  out.writeUInt32LE(crc32(body), 8);
  body.copy(out, FRAME_HEADER_BYTES);
  return out;
}

/** Outcome of scanning a buffer of frames. */
export interface FrameScan {
  /** Parsed payloads of every intact frame, in order. */
  readonly payloads: unknown[];
  /** Byte offset just past the last intact frame. */
  readonly validLength: number;
  /**
   * Why scanning stopped before the end, or undefined when the whole buffer was intact.
   * `torn` = consistent with a write cut short by a crash; `corrupt` = damage that a crash
   * cannot explain (checksum failure with more data after it).
   */
  readonly stop: { readonly kind: 'torn' | 'corrupt'; readonly offset: number; readonly reason: string } | undefined;
}

/** Reads consecutive frames from `buf`, starting at `offset`. */
export function scanFrames(buf: Buffer, offset = 0): FrameScan {
  const payloads: unknown[] = [];
  let at = offset;
  const stop = (kind: 'torn' | 'corrupt', reason: string): FrameScan => ({ payloads, validLength: at, stop: { kind, offset: at, reason } });
  while (at < buf.length) {
    const rest = buf.length - at;
    if (rest < FRAME_HEADER_BYTES) return stop('torn', `only ${rest} bytes left, less than a frame header`);
    const len = buf.readUInt32LE(at);
    if (crc32(buf.subarray(at, at + 4)) !== buf.readUInt32LE(at + 4) || len > MAX_FRAME_BYTES) {
      // Blocks allocated but never written read back as zeros after a crash.
      if (allZero(buf, at)) return stop('torn', 'zero-filled tail');
      return stop('corrupt', 'frame header checksum mismatch');
    }
    const end = at + FRAME_HEADER_BYTES + len;
    if (end > buf.length) return stop('torn', `frame of ${len} bytes runs past the end of the file`);
    const body = buf.subarray(at + FRAME_HEADER_BYTES, end);
    if (crc32(body) !== buf.readUInt32LE(at + 8)) {
      if (end === buf.length) return stop('torn', 'last frame fails its checksum');
      return stop('corrupt', 'frame payload checksum mismatch');
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      return stop('corrupt', 'frame payload passed its checksum but is not JSON');
    }
    payloads.push(parsed);
    at = end;
  }
  return { payloads, validLength: at, stop: undefined };
}

function allZero(buf: Buffer, from: number): boolean {
  for (let i = from; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}
