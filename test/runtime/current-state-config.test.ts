import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validatePipelineText } from '../../src/config/validate-pipeline.ts';
import { ConfigError } from '../../src/core/errors.ts';
import { runtimeSpecFromPlain } from '../../src/runtime/build.ts';

const BASE = `name: p
lake: { type: fs, path: lake }
streams: { changes: { shards: 1 } }
sources:
  shop: { type: generator, stream: changes }
deliveries:
  lake: { type: lake, stream: changes }
`;

test('current_state: off by default; durations and sizes parsed; defaults applied', () => {
  const off = validatePipelineText(BASE, 'p.yaml', { env: {} });
  assert.ok(off.ok, JSON.stringify(!off.ok && off.issues));
  assert.deepEqual(off.spec.currentState, { enabled: false, interval: 60_000, buckets: 16, grace: 600_000, memory_limit: 2 ** 30 });
  const on = validatePipelineText(BASE + 'current_state: { enabled: true, interval: 1m30s, memory_limit: 256MiB }\n', 'p.yaml', { env: {} });
  assert.ok(on.ok, JSON.stringify(!on.ok && on.issues));
  assert.deepEqual(on.spec.currentState, { enabled: true, interval: 90_000, buckets: 16, grace: 600_000, memory_limit: 256 * 2 ** 20 });
});

test('current_state: unknown keys and bad values are named with their line and path', () => {
  const r = validatePipelineText(BASE + 'current_state:\n  enabled: yes please\n  intervall: 5s\n  buckets: 0\n', 'p.yaml', { env: {} });
  assert.ok(!r.ok);
  const byPath = new Map(r.issues.map((i) => [i.path, i]));
  assert.equal(byPath.get('current_state.enabled')?.line, 9);
  assert.equal(byPath.get('current_state.intervall')?.line, 10);
  assert.equal(byPath.get('current_state.buckets')?.line, 11);
});

test('runtimeSpecFromPlain: current_state validated, absent = off', () => {
  const plain = { name: 'p', lake: { type: 'fs', path: 'lake' }, streams: { changes: {} }, sources: { shop: { type: 'generator', stream: 'changes' } } };
  assert.equal(runtimeSpecFromPlain(plain, '/tmp/x').currentState?.enabled, false);
  assert.equal(runtimeSpecFromPlain({ ...plain, current_state: { enabled: true, interval: '5s' } }, '/tmp/x').currentState?.interval, 5000);
  assert.throws(() => runtimeSpecFromPlain({ ...plain, current_state: { interval: '10ms' } }, '/tmp/x'), (err: unknown) => err instanceof ConfigError && /current_state\.interval/.test(err.message));
});
