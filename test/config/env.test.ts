import { test } from 'node:test';
import assert from 'node:assert/strict';
import { substituteEnv } from '../../src/config/env.ts';

const env = { HOST: 'db.internal', EMPTY: '', PORT: '5432' };

test('references, defaults and escapes', () => {
  assert.deepEqual(substituteEnv('plain', env), { ok: true, value: 'plain', changed: false });
  assert.deepEqual(substituteEnv('${HOST}', env), { ok: true, value: 'db.internal', changed: true });
  assert.deepEqual(substituteEnv('postgres://${HOST}:${PORT}/x', env), { ok: true, value: 'postgres://db.internal:5432/x', changed: true });
  assert.deepEqual(substituteEnv('${NOPE:-fallback}', env), { ok: true, value: 'fallback', changed: true });
  assert.deepEqual(substituteEnv('${EMPTY:-used when empty}', env), { ok: true, value: 'used when empty', changed: true });
  assert.deepEqual(substituteEnv('${EMPTY}', env), { ok: true, value: '', changed: true });
  assert.deepEqual(substituteEnv('${NOPE:-}', env), { ok: true, value: '', changed: true });
  assert.deepEqual(substituteEnv('cost $${HOST}', env), { ok: true, value: 'cost ${HOST}', changed: true });
});

test('every missing variable is named; malformed references are flagged', () => {
  assert.deepEqual(substituteEnv('${A}-${HOST}-${B}', env), { ok: false, missing: ['A', 'B'], malformed: false });
  assert.deepEqual(substituteEnv('${1X}', env), { ok: false, missing: [], malformed: true });
  assert.deepEqual(substituteEnv('${HOST', env), { ok: false, missing: [], malformed: true });
});
