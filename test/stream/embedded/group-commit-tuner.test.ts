import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GroupCommitTuner, splitTarget, type GroupPolicy } from '../../../src/stream/embedded/group-commit-tuner.ts';

/** Drives a tuner with a fake clock: each flush of `records` takes `ms(policy, i)`. */
function drive(tuner: GroupCommitTuner, clock: { t: number }, flushes: number, ms: (p: GroupPolicy, i: number) => number, records: (p: GroupPolicy) => number = () => 1000): GroupPolicy[] {
  const seen: GroupPolicy[] = [];
  for (let i = 0; i < flushes; i++) {
    const p = tuner.policy;
    seen.push(p);
    const start = clock.t;
    clock.t += ms(p, i);
    tuner.flushed(start, records(p));
  }
  return seen;
}

// Windows of 2 flushes, 6 windows per trial (2 per policy), keep for 10 flushes.
const small = (clock: { t: number }): GroupCommitTuner => new GroupCommitTuner(() => clock.t, 2, 6, 10);
const TRIAL = ['join', 'join', 'eager', 'eager', 'split', 'split', 'join', 'join', 'eager', 'eager', 'split', 'split'];

test('group commit tuner cycles join, eager and split in a trial and keeps the one with the most records per second', () => {
  for (const faster of ['eager', 'join', 'split'] as const) {
    const clock = { t: 0 };
    const tuner = small(clock);
    const seen = drive(tuner, clock, 12 + 10, (p) => (p === faster ? 1 : 2));
    assert.deepEqual(seen.slice(0, 12), TRIAL);
    assert.ok(seen.slice(12).every((p) => p === faster), `kept ${faster}: ${seen.slice(12).join(',')}`);
    // After keeping it for its term, a new trial starts (conditions change: disk, load).
    assert.deepEqual(drive(tuner, clock, 12, () => 1), TRIAL);
  }
});

test('group commit tuner judges by records per second, not flushes per second', () => {
  const clock = { t: 0 };
  const tuner = small(clock);
  // Eager and split flush twice as often but each acknowledges a third of the records: join wins.
  drive(tuner, clock, 12, (p) => (p === 'join' ? 2 : 1), (p) => (p === 'join' ? 3000 : 1000));
  assert.equal(tuner.policy, 'join');
});

test('group commit tuner keeps join unless another policy is clearly faster (noisy trials, costlier mistake)', () => {
  for (const [otherMs, expected] of [[0.95, 'join'], [0.85, 'other']] as const) {
    for (const other of ['eager', 'split'] as const) {
      const clock = { t: 0 };
      const tuner = small(clock);
      drive(tuner, clock, 12, (p) => (p === 'join' ? 1 : p === other ? otherMs : 3));
      assert.equal(tuner.policy, expected === 'join' ? 'join' : other, `${other} flushes of ${otherMs} ms against join's 1 ms`);
    }
  }
  // Both beat join clearly: the faster of them is kept.
  const clock = { t: 0 };
  const tuner = small(clock);
  drive(tuner, clock, 12, (p) => ({ join: 1, eager: 0.8, split: 0.6 })[p]);
  assert.equal(tuner.policy, 'split');
});

test('group commit tuner: one slow window does not decide a trial alone', () => {
  const clock = { t: 0 };
  const tuner = small(clock);
  // Split is faster (0.5 ms vs 1 ms) but its first window hits a load burst (3 ms per flush).
  drive(tuner, clock, 12, (p, i) => (p === 'join' ? 1 : p === 'eager' ? 2 : i === 4 || i === 5 ? 3 : 0.5));
  assert.equal(tuner.policy, 'join', 'totals: split 2 flushes x 3 ms + 2 x 0.5 ms = 7 ms vs join 4 ms for the same records');
  const clock2 = { t: 0 };
  const tuner2 = small(clock2);
  drive(tuner2, clock2, 12, (p, i) => (p === 'join' ? 1 : p === 'eager' ? 2 : i === 4 || i === 5 ? 1.2 : 0.3));
  assert.equal(tuner2.policy, 'split', 'a mild burst in one window is outweighed by the other');
});

test('split target: half of the producers expected (acknowledged by the last flush plus queued since), at least one', () => {
  assert.equal(splitTarget(4, 0), 2);
  assert.equal(splitTarget(2, 2), 2);
  assert.equal(splitTarget(3, 1), 2);
  assert.equal(splitTarget(1, 3), 2);
  assert.equal(splitTarget(3, 0), 2);
  assert.equal(splitTarget(1, 0), 1);
  assert.equal(splitTarget(0, 0), 1);
  assert.equal(splitTarget(8, 1), 5);
});
