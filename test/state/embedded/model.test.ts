/**
 * Model-based test: random sequences of commits (with conditions that hold or not), reads,
 * lists and reopens run against the embedded store (with a tiny compaction threshold) and a
 * plain Map; they must always agree. Seeded; the seed is printed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateConflictError } from '../../../src/state/errors.ts';
import { EmbeddedStateStore } from '../../../src/state/embedded/embedded-state-store.ts';
import type { StateOp, StateValue } from '../../../src/state/state-store.ts';
import { stateValueEquals } from '../../../src/state/state-value.ts';

const key = fc.constantFrom('a', 'a/1', 'a/2', 'b', 'b/x', 'c');
const value: fc.Arbitrary<StateValue> = fc.oneof(fc.integer(), fc.string({ maxLength: 20 }), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }), fc.record({ k: fc.integer() })).map((v) => JSON.parse(JSON.stringify(v)) as StateValue);
const op: fc.Arbitrary<StateOp> = fc.oneof(fc.record({ type: fc.constant('put' as const), key, value }), fc.record({ type: fc.constant('delete' as const), key }));
type Step =
  | { kind: 'commit'; ops: StateOp[]; condKey: string | null; condMatches: boolean }
  | { kind: 'concurrent'; ops: StateOp[][] }
  | { kind: 'list'; prefix: string }
  | { kind: 'reopen' };
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('commit' as const), ops: fc.array(op, { maxLength: 4 }), condKey: fc.option(key), condMatches: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('concurrent' as const), ops: fc.array(fc.array(op, { minLength: 1, maxLength: 3 }), { minLength: 2, maxLength: 6 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('list' as const), prefix: fc.constantFrom('', 'a', 'a/', 'b', 'z') }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
);

test('embedded store agrees with a Map model under random commits, conditions and reopens', async () => {
  const seed = Number(process.env['HYDRANT_TEST_SEED'] ?? Date.now() % 1_000_000);
  console.log(`model test seed ${seed} (rerun with HYDRANT_TEST_SEED=${seed})`);
  await fc.assert(
    fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 40 }), async (steps) => {
      const dataDir = await mkdtemp(join(tmpdir(), 'hydrant-state-model-'));
      const model = new Map<string, StateValue>();
      const apply = (ops: readonly StateOp[]): void => {
        for (const o of ops) o.type === 'put' ? model.set(o.key, o.value) : model.delete(o.key);
      };
      let store = await EmbeddedStateStore.open({ dataDir, compactAfterBytes: 300 });
      try {
        for (const s of steps) {
          if (s.kind === 'commit') {
            const cond = s.condKey === null ? [] : [{ key: s.condKey, equals: s.condMatches ? model.get(s.condKey) : 'no-such-value' }];
            const holds = cond.every((c) => stateValueEquals(model.get(c.key), c.equals));
            if (holds) {
              await store.commit(s.ops, cond);
              apply(s.ops);
            } else {
              await assert.rejects(store.commit(s.ops, cond), StateConflictError);
            }
          } else if (s.kind === 'concurrent') {
            // Unconditional commits issued together apply in call order.
            await Promise.all(s.ops.map((ops) => store.commit(ops)));
            for (const ops of s.ops) apply(ops);
          } else if (s.kind === 'list') {
            const want = [...model.keys()].filter((k) => k.startsWith(s.prefix)).sort().map((k) => ({ key: k, value: model.get(k) }));
            assert.deepEqual(await store.list(s.prefix), want);
          } else {
            await store.close();
            store = await EmbeddedStateStore.open({ dataDir, compactAfterBytes: 300 });
          }
        }
        await store.close();
        store = await EmbeddedStateStore.open({ dataDir });
        assert.deepEqual(Object.fromEntries((await store.list('')).map((e) => [e.key, e.value])), Object.fromEntries([...model].sort(([x], [y]) => (x < y ? -1 : 1))));
      } finally {
        await store.close();
        await rm(dataDir, { recursive: true, force: true });
      }
    }),
    { seed, numRuns: 40 },
  );
});
