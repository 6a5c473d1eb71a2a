import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GroupCommitTuner } from '../../../src/stream/embedded/group-commit-tuner.ts';

/** Drives a tuner with a fake clock: each flush of `records` takes `ms(policy)`. */
function drive(tuner: GroupCommitTuner, clock: { t: number }, flushes: number, ms: (p: string) => number, records = 1000): string[] {
  const seen: string[] = [];
  for (let i = 0; i < flushes; i++) {
    const p = tuner.policy;
    seen.push(p);
    const start = clock.t;
    clock.t += ms(p);
    tuner.flushed(start, records);
  }
  return seen;
}

test('group commit tuner tries join, then eager, and keeps the one that acknowledged more records per second', () => {
  for (const [faster, slower] of [['eager', 'join'], ['join', 'eager']] as const) {
    const clock = { t: 0 };
    const tuner = new GroupCommitTuner(() => clock.t, 4, 20);
    const ms = (p: string): number => (p === faster ? 1 : 2);
    const seen = drive(tuner, clock, 4 + 4 + 20, ms);
    assert.deepEqual(seen.slice(0, 4), ['join', 'join', 'join', 'join'], 'first trial: join');
    assert.deepEqual(seen.slice(4, 8), ['eager', 'eager', 'eager', 'eager'], 'second trial: eager');
    assert.ok(seen.slice(8).every((p) => p === faster), `kept ${faster}, not ${slower}`);
    // After keeping it for its term, the trials start over (conditions change: disk, load).
    assert.equal(tuner.policy, 'join');
    const again = drive(tuner, clock, 8, () => 1);
    assert.deepEqual(again, ['join', 'join', 'join', 'join', 'eager', 'eager', 'eager', 'eager']);
  }
});

test('group commit tuner judges by records per second, not flushes per second', () => {
  const clock = { t: 0 };
  const tuner = new GroupCommitTuner(() => clock.t, 4, 20);
  // Eager flushes twice as often but each acknowledges a third of the records: join wins.
  for (let i = 0; i < 8; i++) {
    const p = tuner.policy;
    const start = clock.t;
    clock.t += p === 'join' ? 2 : 1;
    tuner.flushed(start, p === 'join' ? 3000 : 1000);
  }
  assert.equal(tuner.policy, 'join');
});

test('group commit tuner keeps join unless eager is clearly faster (noisy trials, costlier mistake)', () => {
  for (const [eagerMs, expected] of [[0.95, 'join'], [0.85, 'eager']] as const) {
    const clock = { t: 0 };
    const tuner = new GroupCommitTuner(() => clock.t, 4, 20);
    drive(tuner, clock, 8, (p) => (p === 'join' ? 1 : eagerMs));
    assert.equal(tuner.policy, expected, `eager flushes of ${eagerMs} ms against join's 1 ms`);
  }
});
