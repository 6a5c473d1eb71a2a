/**
 * Child processes of the crash and end-to-end tests: a Node child (a fixture through tsx, or
 * `bin/hydrant.js`) whose output is collected, optionally SIGKILLed after a delay counted from
 * spawn or from a line it prints, and SIGKILLed at a hard limit when one is given, so a hung
 * child cannot hang the test run.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

/** `bin/hydrant.js` of this checkout. */
export const HYDRANT_BIN = join(import.meta.dirname, '..', '..', 'bin', 'hydrant.js');

/** How a child ended, with everything it wrote. */
export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A child running in the background. */
export interface ChildHandle {
  readonly pid: number | undefined;
  /** Resolves when the child has exited and its output is closed. */
  readonly done: Promise<ChildExit>;
  kill(signal: NodeJS.Signals): void;
  /** stdout so far. */
  stdout(): string;
  /** stderr so far. */
  stderr(): string;
}

/** Options of {@link startNode}. */
export interface StartOptions {
  /** The child's whole environment (default: this process's). */
  readonly env?: NodeJS.ProcessEnv;
  /** Called with each chunk of output as it arrives. */
  readonly onOutput?: (stream: 'stdout' | 'stderr', chunk: string) => void;
}

/** Spawns `node ...args` with stdout and stderr collected. */
export function startNode(args: readonly string[], options: StartOptions = {}): ChildHandle {
  const child = spawn(process.execPath, args, { env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    options.onOutput?.('stdout', chunk);
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    options.onOutput?.('stderr', chunk);
  });
  const done = new Promise<ChildExit>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { pid: child.pid, done, kill: (signal) => child.kill(signal), stdout: () => stdout, stderr: () => stderr };
}

/** Options of {@link runNode}. */
export interface RunOptions extends StartOptions {
  /** SIGKILL the child this long after spawn, or after `killTimerFrom` first says so. */
  readonly killAfterMs?: number;
  /**
   * Starts the `killAfterMs` timer at the first chunk of output for which it returns true
   * (e.g. a "started" line), so a slow start on a loaded machine does not move the kill
   * before any work. `soFar` is all that stream has written, this chunk included. Without it
   * the timer starts at spawn.
   */
  readonly killTimerFrom?: (stream: 'stdout' | 'stderr', chunk: string, soFar: string) => boolean;
  /** Hard limit: SIGKILL after this long whatever happens (default: none). */
  readonly timeoutMs?: number;
  /** Called once with the child's pid. */
  readonly onSpawn?: (pid: number) => void;
}

/** Runs `node ...args` to its end (or its kill) and resolves with how it ended. */
export async function runNode(args: readonly string[], options: RunOptions = {}): Promise<ChildExit> {
  let timer: NodeJS.Timeout | undefined;
  let handle: ChildHandle | undefined;
  const startTimer = (): void => {
    if (timer === undefined && options.killAfterMs !== undefined) timer = setTimeout(() => handle?.kill('SIGKILL'), options.killAfterMs);
  };
  const { killTimerFrom } = options;
  handle = startNode(args, {
    ...(options.env === undefined ? {} : { env: options.env }),
    onOutput: (stream, chunk) => {
      options.onOutput?.(stream, chunk);
      if (killTimerFrom !== undefined && timer === undefined && handle !== undefined && killTimerFrom(stream, chunk, stream === 'stdout' ? handle.stdout() : handle.stderr())) startTimer();
    },
  });
  if (handle.pid !== undefined) options.onSpawn?.(handle.pid);
  if (killTimerFrom === undefined) startTimer();
  const hard = options.timeoutMs === undefined ? undefined : setTimeout(() => handle?.kill('SIGKILL'), options.timeoutMs);
  try {
    return await handle.done;
  } finally {
    if (hard !== undefined) clearTimeout(hard);
    if (timer !== undefined) clearTimeout(timer);
  }
}
