import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GroupCommitTuner } from '../../../src/stream/embedded/group-commit-tuner.ts';

/** Drives a tuner with a fake clock: each flush of `records` takes `ms(policy, i)`. */
function drive(tuner: GroupCommitTuner, clock: { t: number }, flushes: number, ms: (p: string, i: number) => number, records: (p: string) => number = () => 1000): string[] {
  const seen: string[] = [];
  for (let i = 0; i < flushes; i++) {
    const p = tuner.policy;
    seen.push(p);
    const start = clock.t;
    clock.t += ms(p, i);
    tuner.flushed(start, records(p));
  }
  return seen;
}

// Windows of 2 flushes, 4 windows per trial, keep for 10 flushes.
const small = (clock: { t: number }): GroupCommitTuner => new GroupCommitTuner(() => clock.t, 2, 4, 10);
const TRIAL = ['join', 'join', 'eager', 'eager', 'join', 'join', 'eager', 'eager'];

test('group commit tuner alternates join and eager in a trial and keeps the one with more records per second', () => {
  for (const faster of ['eager', 'join'] as const) {
    const clock = { t: 0 };
    const tuner = small(clock);
    const seen = drive(tuner, clock, 8 + 10, (p) => (p === faster ? 1 : 2));
    assert.deepEqual(seen.slice(0, 8), TRIAL);
    assert.ok(seen.slice(8).every((p) => p === faster), `kept ${faster}: ${seen.slice(8).join(',')}`);
    // After keeping it for its term, a new trial starts (conditions change: disk, load).
    assert.deepEqual(drive(tuner, clock, 8, () => 1), TRIAL);
  }
});

test('group commit tuner judges by records per second, not flushes per second', () => {
  const clock = { t: 0 };
  const tuner = small(clock);
  // Eager flushes twice as often but each acknowledges a third of the records: join wins.
  drive(tuner, clock, 8, (p) => (p === 'join' ? 2 : 1), (p) => (p === 'join' ? 3000 : 1000));
  assert.equal(tuner.policy, 'join');
});

test('group commit tuner keeps join unless eager is clearly faster (noisy trials, costlier mistake)', () => {
  for (const [eagerMs, expected] of [[0.95, 'join'], [0.85, 'eager']] as const) {
    const clock = { t: 0 };
    const tuner = small(clock);
    drive(tuner, clock, 8, (p) => (p === 'join' ? 1 : eagerMs));
    assert.equal(tuner.policy, expected, `eager flushes of ${eagerMs} ms against join's 1 ms`);
  }
});

test('group commit tuner: one slow window does not decide a trial alone', () => {
  const clock = { t: 0 };
  const tuner = small(clock);
  // Eager is faster (0.5 ms vs 1 ms) but its first window hits a load burst (3 ms per flush).
  drive(tuner, clock, 8, (p, i) => (p === 'join' ? 1 : i === 2 || i === 3 ? 3 : 0.5));
  assert.equal(tuner.policy, 'join', 'totals: eager 2 flushes x 3 ms + 2 x 0.5 ms = 7 ms vs join 4 ms for the same records');
  const clock2 = { t: 0 };
  const tuner2 = small(clock2);
  drive(tuner2, clock2, 8, (p, i) => (p === 'join' ? 1 : i === 2 || i === 3 ? 1.2 : 0.3));
  assert.equal(tuner2.policy, 'eager', 'a mild burst in one window is outweighed by the other');
});
