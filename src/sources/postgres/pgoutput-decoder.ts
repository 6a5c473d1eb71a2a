/**
 * Decoder of the `pgoutput` logical replication protocol (versions 1 and 2), text-format
 * tuples. One {@link PgoutputDecoder} per connection: inside a stream block (protocol 2
 * streaming of in-progress transactions) change messages carry the (sub)transaction's xid,
 * so the decoder tracks whether it is inside one.
 */
import { CodecError } from '../../core/errors.ts';

/** A tuple column that was not sent because it is an unchanged TOASTed value. */
export const UNCHANGED: unique symbol = Symbol('unchanged-toast');

/** Column values of a tuple in text format: null, {@link UNCHANGED}, or the text. */
export type TupleData = ReadonlyArray<string | null | typeof UNCHANGED>;

/** One column of a Relation message. */
export interface RelationColumn {
  /** 1 when the column is part of the replica identity key. */
  readonly flags: number;
  readonly name: string;
  readonly typeOid: number;
  readonly typmod: number;
}

/** Every pgoutput message Hydrant handles. */
export type PgoutputMessage =
  | { readonly tag: 'begin'; readonly finalLsn: bigint; readonly commitTime: bigint; readonly xid: number }
  | { readonly tag: 'commit'; readonly commitLsn: bigint; readonly endLsn: bigint; readonly commitTime: bigint }
  | { readonly tag: 'origin' }
  | { readonly tag: 'relation'; readonly xid: number | undefined; readonly relid: number; readonly namespace: string; readonly name: string; readonly replicaIdentity: string; readonly columns: readonly RelationColumn[] }
  | { readonly tag: 'type'; readonly xid: number | undefined; readonly oid: number; readonly namespace: string; readonly name: string }
  | { readonly tag: 'insert'; readonly xid: number | undefined; readonly relid: number; readonly newTuple: TupleData }
  | { readonly tag: 'update'; readonly xid: number | undefined; readonly relid: number; readonly oldKind: 'K' | 'O' | undefined; readonly oldTuple: TupleData | undefined; readonly newTuple: TupleData }
  | { readonly tag: 'delete'; readonly xid: number | undefined; readonly relid: number; readonly oldKind: 'K' | 'O'; readonly oldTuple: TupleData }
  | { readonly tag: 'truncate'; readonly xid: number | undefined; readonly options: number; readonly relids: readonly number[] }
  | { readonly tag: 'message'; readonly xid: number | undefined; readonly transactional: boolean; readonly lsn: bigint; readonly prefix: string; readonly content: Buffer }
  | { readonly tag: 'stream_start'; readonly xid: number; readonly first: boolean }
  | { readonly tag: 'stream_stop' }
  | { readonly tag: 'stream_commit'; readonly xid: number; readonly commitLsn: bigint; readonly endLsn: bigint; readonly commitTime: bigint }
  | { readonly tag: 'stream_abort'; readonly xid: number; readonly subxid: number };

/** Stateful decoder (tracks stream blocks). */
export class PgoutputDecoder {
  #inStream: boolean;

  /** `inStream` true decodes spilled changes of a streamed transaction (they carry an xid). */
  constructor(inStream = false) {
    this.#inStream = inStream;
  }

  /** true between Stream Start and Stream Stop. */
  get inStream(): boolean {
    return this.#inStream;
  }

  /** Decodes one message. */
  decode(b: Buffer): PgoutputMessage {
    const r = new Reader(b);
    const tag = r.u8();
    switch (tag) {
      case 0x42 /* B */:
        return { tag: 'begin', finalLsn: r.u64(), commitTime: r.i64(), xid: r.u32() };
      case 0x43 /* C */: {
        r.u8();
        return { tag: 'commit', commitLsn: r.u64(), endLsn: r.u64(), commitTime: r.i64() };
      }
      case 0x4f /* O */:
        return { tag: 'origin' };
      case 0x52 /* R */: {
        const xid = this.#xid(r);
        const relid = r.u32();
        const namespace = r.cstr();
        const name = r.cstr();
        const replicaIdentity = String.fromCharCode(r.u8());
        const n = r.u16();
        const columns: RelationColumn[] = [];
        for (let i = 0; i < n; i++) columns.push({ flags: r.u8(), name: r.cstr(), typeOid: r.u32(), typmod: r.i32() });
        return { tag: 'relation', xid, relid, namespace: namespace === '' ? 'pg_catalog' : namespace, name, replicaIdentity, columns };
      }
      case 0x59 /* Y */: {
        const xid = this.#xid(r);
        return { tag: 'type', xid, oid: r.u32(), namespace: r.cstr(), name: r.cstr() };
      }
      case 0x49 /* I */: {
        const xid = this.#xid(r);
        const relid = r.u32();
        r.u8(); // 'N'
        return { tag: 'insert', xid, relid, newTuple: r.tuple() };
      }
      case 0x55 /* U */: {
        const xid = this.#xid(r);
        const relid = r.u32();
        let k = r.u8();
        let oldKind: 'K' | 'O' | undefined;
        let oldTuple: TupleData | undefined;
        if (k === 0x4b || k === 0x4f) {
          oldKind = k === 0x4b ? 'K' : 'O';
          oldTuple = r.tuple();
          k = r.u8();
        }
        return { tag: 'update', xid, relid, oldKind, oldTuple, newTuple: r.tuple() };
      }
      case 0x44 /* D */: {
        const xid = this.#xid(r);
        const relid = r.u32();
        const k = r.u8();
        return { tag: 'delete', xid, relid, oldKind: k === 0x4b ? 'K' : 'O', oldTuple: r.tuple() };
      }
      case 0x54 /* T */: {
        const xid = this.#xid(r);
        const n = r.u32();
        const options = r.u8();
        const relids: number[] = [];
        for (let i = 0; i < n; i++) relids.push(r.u32());
        return { tag: 'truncate', xid, options, relids };
      }
      case 0x4d /* M */: {
        const xid = this.#xid(r);
        const flags = r.u8();
        const lsn = r.u64();
        const prefix = r.cstr();
        const len = r.u32();
        return { tag: 'message', xid, transactional: (flags & 1) === 1, lsn, prefix, content: r.bytes(len) };
      }
      case 0x53 /* S */: {
        this.#inStream = true;
        return { tag: 'stream_start', xid: r.u32(), first: r.u8() === 1 };
      }
      case 0x45 /* E */:
        this.#inStream = false;
        return { tag: 'stream_stop' };
      case 0x63 /* c */: {
        const xid = r.u32();
        r.u8();
        return { tag: 'stream_commit', xid, commitLsn: r.u64(), endLsn: r.u64(), commitTime: r.i64() };
      }
      case 0x41 /* A */:
        return { tag: 'stream_abort', xid: r.u32(), subxid: r.u32() };
      default:
        throw new CodecError(`unknown pgoutput message type ${JSON.stringify(String.fromCharCode(tag))} (0x${tag.toString(16)}): this Hydrant understands pgoutput protocol versions 1 and 2`);
    }
  }

  #xid(r: Reader): number | undefined {
    return this.#inStream ? r.u32() : undefined;
  }
}

/** Reads the xid of a change message inside a stream block without decoding the rest. */
export function streamedXid(b: Buffer): number | undefined {
  const t = b[0];
  if (t === 0x52 || t === 0x59 || t === 0x49 || t === 0x55 || t === 0x44 || t === 0x54 || t === 0x4d) return b.readUInt32BE(1);
  return undefined;
}

class Reader {
  readonly #b: Buffer;
  #o = 0;
  constructor(b: Buffer) {
    this.#b = b;
  }
  u8(): number {
    return this.#b[this.#o++] as number;
  }
  u16(): number {
    const v = this.#b.readUInt16BE(this.#o);
    this.#o += 2;
    return v;
  }
  u32(): number {
    const v = this.#b.readUInt32BE(this.#o);
    this.#o += 4;
    return v;
  }
  i32(): number {
    const v = this.#b.readInt32BE(this.#o);
    this.#o += 4;
    return v;
  }
  u64(): bigint {
    const v = this.#b.readBigUInt64BE(this.#o);
    this.#o += 8;
    return v;
  }
  i64(): bigint {
    const v = this.#b.readBigInt64BE(this.#o);
    this.#o += 8;
    return v;
  }
  cstr(): string {
    const end = this.#b.indexOf(0, this.#o);
    if (end < 0) throw new CodecError('malformed pgoutput message: unterminated string');
    const s = this.#b.toString('utf8', this.#o, end);
    this.#o = end + 1;
    return s;
  }
  bytes(n: number): Buffer {
    const v = this.#b.subarray(this.#o, this.#o + n);
    this.#o += n;
    return v;
  }
  tuple(): Array<string | null | typeof UNCHANGED> {
    const n = this.u16();
    const out = new Array<string | null | typeof UNCHANGED>(n);
    for (let i = 0; i < n; i++) {
      const k = this.u8();
      if (k === 0x74 /* t */) {
        const len = this.u32();
        out[i] = this.#b.toString('utf8', this.#o, this.#o + len);
        this.#o += len;
      } else if (k === 0x6e /* n */) out[i] = null;
      else if (k === 0x75 /* u */) out[i] = UNCHANGED;
      else throw new CodecError(`unsupported pgoutput tuple column kind ${JSON.stringify(String.fromCharCode(k))}: Hydrant requests text format`);
    }
    return out;
  }
}
