import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { z } from 'zod';
import { byteSize, duration, formatByteSize, formatDuration, parseByteSize, parseDuration } from '../../src/config/units.ts';

test('durations parse to milliseconds', () => {
  const cases: Array<[string, number]> = [['500ms', 500], ['60s', 60_000], ['5m', 300_000], ['24h', 86_400_000], ['7d', 604_800_000], ['1h30m', 5_400_000], ['1.5s', 1500], ['2w', 1_209_600_000], [' 10 s ', 10_000], ['0s', 0]];
  for (const [text, ms] of cases) assert.equal(parseDuration(text), ms, text);
  for (const bad of ['', '5', 'ms', '5 minutes', '-1s', '1y', '5m garbage', '1e3s']) assert.equal(parseDuration(bad), undefined, bad);
});

test('sizes parse to bytes: decimal units are powers of 1000, binary ones of 1024', () => {
  const cases: Array<[string, number]> = [['64MiB', 64 * 2 ** 20], ['1GB', 1e9], ['512KiB', 524_288], ['100B', 100], ['4096', 4096], ['1.5KiB', 1536], ['2 tib', 2 * 2 ** 40], ['1kb', 1000]];
  for (const [text, bytes] of cases) assert.equal(parseByteSize(text), bytes, text);
  for (const bad of ['', 'MiB', '12XB', '-1GiB', '1 GiB extra', '1e3']) assert.equal(parseByteSize(bad), undefined, bad);
});

test('duration() and byteSize() schemas accept strings and numbers, report what they found', () => {
  const s = z.strictObject({ d: duration({ min: 1000 }).prefault('5m'), b: byteSize({ max: 2 ** 30 }).prefault('64MiB') });
  assert.deepEqual(s.parse({}), { d: 300_000, b: 64 * 2 ** 20 });
  assert.deepEqual(s.parse({ d: 2500, b: 10 }), { d: 2500, b: 10 });
  const r = s.safeParse({ d: '10ms', b: '2GiB' });
  assert.equal(r.success, false);
  const messages = r.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];
  assert.deepEqual(messages, ['d: expected a duration of at least 1s, found 10ms', 'b: expected a size of at most 1GiB, found 2GiB']);
  assert.equal(z.object({ d: duration() }).safeParse({ d: true }).success, false);
  assert.equal(z.object({ b: byteSize() }).safeParse({ b: 1.5 }).success, false);
});

test('format and parse round-trip (property)', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 10 * 86_400_000 }), (ms) => parseDuration(formatDuration(ms)) === ms));
  fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 50 }), (b) => parseByteSize(formatByteSize(b)) === b));
  assert.equal(formatDuration(90_000), '1m30s');
  assert.equal(formatByteSize(64 * 2 ** 20), '64MiB');
});
