/**
 * The generated per-relation tuple reader (relations.ts `fastTuple`) against the generic
 * `readTuple`: the same rows (same keys, same order, same values) and keys, or undefined exactly
 * when the generic reader is needed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { silentLogger } from '../../../src/core/logger.ts';
import type { Row } from '../../../src/core/values.ts';
import { columnReader, Latin1Text } from '../../../src/sources/postgres/column-readers.ts';
import { fastTuple, readTuple, type RelationState } from '../../../src/sources/postgres/relations.ts';
import { TypeResolver } from '../../../src/sources/postgres/type-map.ts';

const resolver = new TypeResolver(async () => undefined, silentLogger);
const TYPES: Array<[number, fc.Arbitrary<string>]> = [
  [20, fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }).map(String)],
  [23, fc.integer().map(String)],
  [25, fc.string({ unit: 'grapheme', maxLength: 40 })],
  [1700, fc.tuple(fc.integer(), fc.nat(99)).map(([a, b]) => `${a}.${String(b).padStart(2, '0')}`)],
  [1184, fc.date({ min: new Date('1900-01-01'), max: new Date('2200-01-01'), noInvalidDate: true }).map((d) => d.toISOString().replace('T', ' ').replace('Z', '+00'))],
  [16, fc.constantFrom('t', 'f')],
];

type Cell = { kind: 't'; text: string } | { kind: 'n' } | { kind: 'u' };

function relation(cols: Array<{ name: string; oid: number; captured: boolean }>, keyIndexes: number[]): RelationState {
  return {
    serial: 1, relid: 1, schemaName: 'public', table: 't', captured: true, keyIndexes,
    columns: cols.map((c) => {
      const t = resolver.cached(c.oid)!;
      return { name: c.name, parse: t.parse, read: columnReader(t), captured: c.captured };
    }),
    schema: { source: 's', database: 'd', schema: 'public', table: 't', version: 1, columns: [], primaryKey: [] },
  };
}

function tupleBytes(cells: Cell[]): Buffer {
  const parts: Buffer[] = [Buffer.from([0x49, cells.length >> 8, cells.length & 255])];
  for (const c of cells) {
    if (c.kind === 't') {
      const v = Buffer.from(c.text, 'utf8');
      const h = Buffer.alloc(5);
      h[0] = 0x74;
      h.writeUInt32BE(v.length, 1);
      parts.push(h, v);
    } else parts.push(Buffer.from([c.kind === 'n' ? 0x6e : 0x75]));
  }
  return Buffer.concat(parts);
}

test('the generated reader makes the rows and keys readTuple makes, or declines', () => {
  const column = fc.tuple(fc.integer({ min: 0, max: TYPES.length - 1 }), fc.boolean(), fc.constantFrom('id', 'name', 'a b', '1', '$x', 'é', 'qty', 'created', 'n"q', 'price'));
  fc.assert(fc.property(fc.uniqueArray(column, { minLength: 1, maxLength: 8, selector: (c) => c[2] }), fc.infiniteStream(fc.tuple(fc.integer({ min: 0, max: 9 }), fc.string())), (spec, rnd) => {
    const cols = spec.map(([t, captured, name]) => ({ name, oid: TYPES[t]![0], captured }));
    const keyIndexes = cols.map((c, i) => (c.captured && i % 2 === 0 ? i : -1)).filter((i) => i >= 0);
    const rel = relation(cols, keyIndexes);
    const it = rnd[Symbol.iterator]();
    const cells: Cell[] = spec.map(([t]) => {
      const [roll] = it.next().value as [number, string];
      if (roll === 0) return { kind: 'n' };
      if (roll === 1) return { kind: 'u' };
      return { kind: 't', text: fc.sample(TYPES[t]![1], { numRuns: 1, seed: roll * 7919 + t })[0] as string };
    });
    const b = Buffer.concat([Buffer.from('xx'), tupleBytes(cells)]);
    const text = new Latin1Text();
    const generic: Row = {};
    const unchanged: string[] = [];
    readTuple(rel, b, 3, generic, unchanged, text);
    const fast = fastTuple(rel);
    assert.ok(fast !== undefined);
    const row = fast.row(b, 3, text);
    const needsGeneric = cells.some((c, i) => c.kind === 'u' && cols[i]!.captured);
    if (needsGeneric) assert.equal(row, undefined);
    else {
      assert.ok(row !== undefined);
      assert.deepEqual(Object.keys(row), Object.keys(generic));
      assert.deepEqual(row, generic);
      const key: Row = {};
      for (const i of keyIndexes) key[cols[i]!.name] = generic[cols[i]!.name] ?? null;
      assert.deepEqual(fast.key(row), key);
    }
    // A tuple with another column count is left to the generic reader.
    assert.equal(fast.row(Buffer.concat([Buffer.from('xx'), tupleBytes([...cells, { kind: 'n' }])]), 3, text), undefined);
  }), { seed: 17, numRuns: 400 });
});

test('a relation with a __proto__ column stays on the generic reader', () => {
  assert.equal(fastTuple(relation([{ name: '__proto__', oid: 25, captured: true }], [])), undefined);
});
