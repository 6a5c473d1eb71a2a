/**
 * How a shard writer forms its groups, chosen by measuring. With `join` the writer, before
 * taking a group, lets every appender that can run now queue its batch (one event-loop turn),
 * so the appenders the last fsync acknowledged share the next group: one fsync per round, but
 * the producers' CPU (building and encoding their next batches) never overlaps an fsync. With
 * `eager` it takes what is queued at once: the first batch is written while the others
 * encode, and they form the next group. With `split` it starts a group as soon as about half
 * of the batches it expects have arrived (half of those acknowledged by the last flush plus
 * those queued since), and writes it with one durable write (`O_DSYNC`) so that the write
 * AND its sync run while the other half encodes: a `writev` followed by `fdatasync` needs
 * the main thread between the two calls, which the encoding producers hold, so with a
 * separate `fdatasync` the sync never overlapped their CPU (measured: split with a separate
 * fdatasync was no faster than join; see shard-writer.ts).
 * Which is faster depends on sync latency against the producers' CPU per round: with the
 * log bench's 4 producers, eager won by 7-19% in the rounds where fsyncs were fast and lost
 * up to 40% where a busy disk made them slow. So the writer tries each now and then and keeps
 * the one that acknowledged the most records per second (anything but join only by a 10%
 * margin); a trial runs each policy for 60 flushes of every ~1,180.
 * Durability is the same either way: nothing is acknowledged before the sync covering it.
 */

/**
 * `join` (wait one event-loop turn for more batches), `eager` (write what is queued at once)
 * or `split` (write once half the expected batches are queued, with one durable write).
 */
export type GroupPolicy = 'join' | 'eager' | 'split';

/** Every policy, in the order a trial tries them. */
export const GROUP_POLICIES: readonly GroupPolicy[] = ['join', 'eager', 'split'];

/** What a shard writer needs from its chooser (a fixed policy in tests). */
export interface GroupPolicyChooser {
  /** The policy for the next flush. */
  readonly policy: GroupPolicy;
  /** Reports a flush that started at `startedAt` (performance.now clock) and acknowledged `records`. */
  flushed(startedAt: number, records: number): void;
}

/**
 * A trial cycles through the policies in short windows (join, eager, split, join, …) and
 * compares their totals, so a burst of load during one window does not decide alone; the
 * winner is then kept for a while before the next trial (conditions change: disk, neighbours).
 */
export const TUNER_WINDOW_FLUSHES = 10;
/**
 * 6 windows per policy: with 3 per policy, window rates on this shared 2-core machine swung
 * 2-3x within one trial and the kept policy was close to a coin toss (split kept in 1 of 8
 * trials, 6 of 8 with 6 per policy, in the same minutes; rounds that kept split ran faster).
 */
export const TUNER_TRIAL_WINDOWS = 18;
export const TUNER_KEEP_FLUSHES = 1000;
/** How much more records/s a policy other than `join` must show in a trial to be kept. */
export const CHALLENGER_MARGIN = 1.1;

/**
 * How many queued batches start a `split` group: half of the producers the writer expects,
 * i.e. of the batches the last flush acknowledged plus those that queued during it.
 */
export function splitTarget(acknowledged: number, queued: number): number {
  return Math.max(1, Math.ceil((acknowledged + queued) / 2));
}

/** Trial-and-keep chooser among the policies (one per shard writer). */
export class GroupCommitTuner implements GroupPolicyChooser {
  readonly #now: () => number;
  readonly #windowFlushes: number;
  readonly #trialWindows: number;
  readonly #keepFlushes: number;
  readonly #policies: readonly GroupPolicy[];
  #policy: GroupPolicy;
  #trying = true;
  #window = 0;
  #flushes = 0;
  #records = 0;
  #start = 0;
  #sums = new Map<GroupPolicy, { records: number; ms: number }>();

  constructor(now: () => number = () => performance.now(), windowFlushes = TUNER_WINDOW_FLUSHES, trialWindows = TUNER_TRIAL_WINDOWS, keepFlushes = TUNER_KEEP_FLUSHES) {
    this.#now = now;
    this.#windowFlushes = windowFlushes;
    this.#trialWindows = trialWindows;
    this.#keepFlushes = keepFlushes;
    this.#policies = GROUP_POLICIES;
    this.#policy = 'join';
  }

  /** The policy for the next flush. */
  get policy(): GroupPolicy {
    return this.#policy;
  }

  /** Reports a flush that started at `startedAt` (from the same clock) and acknowledged `records`. */
  flushed(startedAt: number, records: number): void {
    if (this.#flushes === 0) this.#start = startedAt;
    this.#flushes++;
    this.#records += records;
    if (!this.#trying) {
      if (this.#flushes < this.#keepFlushes) return;
      this.#trying = true;
      this.#window = 0;
      this.#sums = new Map();
      this.#policy = 'join';
      this.#flushes = 0;
      this.#records = 0;
      return;
    }
    if (this.#flushes < this.#windowFlushes) return;
    const sum = this.#sums.get(this.#policy) ?? { records: 0, ms: 0 };
    sum.records += this.#records;
    sum.ms += this.#now() - this.#start;
    this.#sums.set(this.#policy, sum);
    this.#flushes = 0;
    this.#records = 0;
    if (++this.#window < this.#trialWindows) {
      this.#policy = this.#policies[this.#window % this.#policies.length] as GroupPolicy;
      return;
    }
    const rate = (p: GroupPolicy): number => {
      const x = this.#sums.get(p);
      return x === undefined ? 0 : x.records / Math.max(1e-6, x.ms);
    };
    // A wrong `eager` costs more (up to -40% measured) than a wrong `join` (-7..-19%), and
    // trials on a busy machine are noisy: the others must beat join clearly.
    let best: GroupPolicy = 'join';
    for (const p of this.#policies) if (p !== 'join' && rate(p) > rate('join') * CHALLENGER_MARGIN && rate(p) > rate(best)) best = p;
    this.#policy = best;
    this.#trying = false;
  }
}

/** Always the same policy (tests, and measuring one policy alone). */
export class FixedGroupPolicy implements GroupPolicyChooser {
  readonly policy: GroupPolicy;
  constructor(policy: GroupPolicy) {
    this.policy = policy;
  }
  flushed(): void {}
}
