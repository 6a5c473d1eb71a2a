/**
 * A pool of worker threads that run a user's module. At most `size` invocations run at once;
 * an invocation that exceeds its timeout is stopped by terminating its worker (the only way to
 * stop a function stuck in a synchronous loop), and a fresh worker replaces it on demand.
 *
 * The worker's bootstrap is a small script evaluated in the worker: it registers tsx's ESM
 * loader (for TypeScript modules; a worker thread does not inherit loader hooks registered in
 * the main thread), imports the module and answers `invoke` messages.
 */
import { Worker } from 'node:worker_threads';
import { HydrantError } from '../../core/errors.ts';

/** An invocation failed: threw, timed out, or its worker died. */
export class InvocationError extends HydrantError {
  constructor(message: string, readonly timedOut = false) {
    super(timedOut ? 'FUNCTION_TIMEOUT' : 'FUNCTION_FAILED', message);
  }
}

/** The user's module could not be loaded. */
export class FunctionLoadError extends HydrantError {
  constructor(message: string) {
    super('FUNCTION_LOAD_FAILED', message);
  }
}

const BOOTSTRAP = `
const { parentPort, workerData } = require('node:worker_threads');
(async () => {
  if (workerData.tsxApi !== null) (await import(workerData.tsxApi)).register();
  const mod = await import(workerData.moduleUrl);
  const fn = typeof mod[workerData.exportName] === 'function' ? mod[workerData.exportName]
    : (mod.default && typeof mod.default[workerData.exportName] === 'function') ? mod.default[workerData.exportName] : undefined;
  if (fn === undefined) throw new Error('the module has no exported function ' + JSON.stringify(workerData.exportName) + ' (exports: ' + Object.keys(mod).join(', ') + ')');
  parentPort.on('message', async (m) => {
    try {
      const result = await fn(m.event, { invocationId: m.event.invocationId });
      parentPort.postMessage({ type: 'result', id: m.id, result });
    } catch (err) {
      parentPort.postMessage({ type: 'error', id: m.id, message: (err && err.stack) ? String(err.stack).split('\\n').slice(0, 3).join(' | ') : String(err) });
    }
  });
  parentPort.postMessage({ type: 'ready' });
})().catch((err) => parentPort.postMessage({ type: 'fatal', message: err && err.message ? err.message : String(err) }));
`;

interface Job {
  readonly event: unknown;
  readonly timeoutMs: number;
  resolve(v: unknown): void;
  reject(e: Error): void;
}

interface Slot {
  readonly worker: Worker;
  readonly ready: Promise<void>;
  job: (Job & { readonly id: number; timer: NodeJS.Timeout | undefined }) | undefined;
  dead: boolean;
}

/** Options of {@link WorkerPool}. */
export interface WorkerPoolOptions {
  /** file: URL of the user's module. */
  readonly moduleUrl: string;
  /** Exported function name (`handler` or `default`, ...). */
  readonly exportName: string;
  /** Most invocations at once. */
  readonly size: number;
  /** file: URL of `tsx/esm/api`, or null for a JavaScript module. */
  readonly tsxApi: string | null;
  /** Called when a worker is terminated for exceeding its timeout. */
  readonly onTimeout?: () => void;
}

/** Runs invocations on worker threads. */
export class WorkerPool {
  readonly #o: WorkerPoolOptions;
  readonly #slots: Slot[] = [];
  readonly #queue: Job[] = [];
  #nextId = 0;
  #closed = false;
  #peakBusy = 0;
  #spawned = 0;

  constructor(options: WorkerPoolOptions) {
    this.#o = options;
  }

  /** Starts one worker and waits until the module is loaded: surfaces load errors at startup. */
  async warmUp(): Promise<void> {
    const s = this.#spawn();
    await s.ready;
  }

  /** Runs the function on `event`; rejects with {@link InvocationError} on error or timeout. */
  invoke(event: unknown, timeoutMs: number): Promise<unknown> {
    if (this.#closed) return Promise.reject(new InvocationError('the function pool is closed'));
    return new Promise((resolve, reject) => {
      this.#queue.push({ event, timeoutMs, resolve, reject });
      this.#pump();
    });
  }

  /** Most invocations that ran at once, and workers started so far (for tests and metrics). */
  stats(): { readonly peakBusy: number; readonly workersStarted: number; readonly workers: number } {
    return { peakBusy: this.#peakBusy, workersStarted: this.#spawned, workers: this.#slots.length };
  }

  /** Terminates every worker; queued invocations are rejected. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const j of this.#queue.splice(0)) j.reject(new InvocationError('the function pool was closed'));
    await Promise.all(this.#slots.splice(0).map((s) => this.#kill(s, new InvocationError('the function pool was closed'))));
  }

  #pump(): void {
    while (this.#queue.length > 0) {
      let slot = this.#slots.find((s) => s.job === undefined && !s.dead);
      if (slot === undefined) {
        if (this.#slots.length >= this.#o.size) return;
        slot = this.#spawn();
      }
      this.#start(slot, this.#queue.shift() as Job);
    }
  }

  #spawn(): Slot {
    const worker = new Worker(BOOTSTRAP, {
      eval: true,
      // The parent's flags (e.g. `--import tsx`) are not needed: the bootstrap registers tsx itself.
      execArgv: [],
      workerData: { moduleUrl: this.#o.moduleUrl, exportName: this.#o.exportName, tsxApi: this.#o.tsxApi },
      stdout: false,
      stderr: false,
    });
    let readyResolve!: () => void;
    let readyReject!: (e: Error) => void;
    const ready = new Promise<void>((res, rej) => {
      readyResolve = res;
      readyReject = rej;
    });
    // A job may wait on a slot whose module fails to load; the job's reject reports it.
    ready.catch(() => {});
    const slot: Slot = { worker, ready, job: undefined, dead: false };
    worker.on('message', (m: { type: string; id?: number; result?: unknown; message?: string }) => {
      if (m.type === 'ready') return readyResolve();
      if (m.type === 'fatal') {
        const err = new FunctionLoadError(`function module ${this.#o.moduleUrl} failed to load: ${m.message ?? 'unknown error'}`);
        readyReject(err);
        void this.#kill(slot, err);
        return;
      }
      const job = slot.job;
      if (job === undefined || job.id !== m.id) return;
      this.#finish(slot);
      if (m.type === 'result') job.resolve(m.result);
      else job.reject(new InvocationError(`the function threw: ${m.message ?? 'unknown error'}`));
    });
    worker.on('error', (err) => {
      const e = new InvocationError(`the function's worker crashed: ${err.message}`);
      readyReject(e);
      void this.#kill(slot, e);
    });
    worker.on('exit', (code) => {
      if (!slot.dead) void this.#kill(slot, new InvocationError(`the function's worker exited with code ${code}`));
    });
    this.#slots.push(slot);
    this.#spawned++;
    return slot;
  }

  #start(slot: Slot, job: Job): void {
    const id = ++this.#nextId;
    const timer = setTimeout(() => {
      this.#o.onTimeout?.();
      void this.#kill(slot, new InvocationError(`the function did not answer within ${job.timeoutMs} ms; its worker was terminated`, true));
    }, job.timeoutMs);
    slot.job = { ...job, id, timer };
    this.#peakBusy = Math.max(this.#peakBusy, this.#slots.filter((s) => s.job !== undefined).length);
    slot.ready.then(
      () => {
        if (slot.job?.id === id && !slot.dead) slot.worker.postMessage({ id, event: job.event });
      },
      () => {},
    );
  }

  #finish(slot: Slot): void {
    if (slot.job?.timer !== undefined) clearTimeout(slot.job.timer);
    slot.job = undefined;
    this.#pump();
  }

  async #kill(slot: Slot, reason: Error): Promise<void> {
    if (slot.dead) return;
    slot.dead = true;
    const job = slot.job;
    if (job?.timer !== undefined) clearTimeout(job.timer);
    slot.job = undefined;
    const i = this.#slots.indexOf(slot);
    if (i >= 0) this.#slots.splice(i, 1);
    job?.reject(reason);
    await slot.worker.terminate();
    if (!this.#closed) this.#pump();
  }
}
