import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { JsonByteWriter } from '../../src/core/json-bytes.ts';

const SEED = Number(process.env['HYDRANT_TEST_SEED'] ?? 20261122);
console.log(`json-bytes.test seed=${SEED}`);

const anyText = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) }),
  fc.string({ minLength: 100, maxLength: 3000 }),
);

test('string() writes exactly the UTF-8 of JSON.stringify, growing the buffer as needed', () => {
  const w = new JsonByteWriter(1);
  fc.assert(
    fc.property(fc.array(anyText, { maxLength: 5 }), (parts) => {
      w.reset();
      w.byte(91);
      parts.forEach((p, i) => {
        if (i > 0) w.byte(44);
        w.string(p);
      });
      w.byte(93);
      const ref = JSON.stringify(parts);
      assert.deepEqual(w.take(), Buffer.from(ref, 'utf8'));
      assert.equal(w.toString(), ref);
    }),
    { seed: SEED, numRuns: 1000 },
  );
});

test('key() stays correct past its cache bound; take() returns a copy', () => {
  const w = new JsonByteWriter(8);
  for (let i = 0; i < 10_000; i++) {
    const k = i % 3 === 0 ? `k"${i}` : `col_${i % 5000}`;
    w.reset();
    w.key(k);
    w.ascii('1');
    assert.equal(w.toString(), `${JSON.stringify(k)}:1`);
  }
  w.reset();
  w.ascii('abc');
  const taken = w.take();
  w.reset();
  w.ascii('xyz');
  assert.equal(taken.toString('utf8'), 'abc');
  w.reset();
  w.bytes(Buffer.from('x'.repeat(100)));
  w.text('é"');
  assert.equal(w.toString(), `${'x'.repeat(100)}é"`);
});
