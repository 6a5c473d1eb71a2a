/**
 * Hydrant's error hierarchy. Every error carries a stable `code` that callers and tests match
 * on, and a message that says what happened, where, and what to do about it.
 */
export class HydrantError extends Error {
  /** Stable machine-readable code, e.g. `CONFIG_INVALID`. */
  readonly code: string;
  /** Optional structured details (never secret values). */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: string, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options?.details;
  }
}

/** One problem found in a pipeline file. */
export interface ConfigIssue {
  /** File the problem is in. */
  readonly file: string;
  /** 1-based line, when known. */
  readonly line: number | undefined;
  /** Key path such as `sources.pg.port`. */
  readonly path: string;
  /** What was wrong, what was expected and what was found. */
  readonly message: string;
}

/** Invalid configuration: reports every problem at once. */
export class ConfigError extends HydrantError {
  readonly issues: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[], message?: string) {
    super('CONFIG_INVALID', message ?? formatConfigIssues(issues), { details: { count: issues.length } });
    this.issues = issues;
  }
}

/** Renders config issues as `file:line: path: message` lines. */
export function formatConfigIssues(issues: readonly ConfigIssue[]): string {
  return issues
    .map((i) => `${i.file}${i.line === undefined ? '' : `:${i.line}`}: ${i.path === '' ? '(root)' : i.path}: ${i.message}`)
    .join('\n');
}

/** A connection to an external system failed or was lost; the runtime retries with back-off. */
export class ConnectionError extends HydrantError {
  constructor(message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super('CONNECTION_FAILED', message, options);
  }
}

/** The component asks the runtime to wait before trying again (throttling, busy server). */
export class BackoffError extends HydrantError {
  readonly retryAfterMs: number;
  constructor(message: string, retryAfterMs: number, options?: { cause?: unknown }) {
    super('BACKOFF', message, options);
    this.retryAfterMs = retryAfterMs;
  }
}

/** Some records of a batch failed; `failed` lists their indexes and reasons. */
export class PartialBatchError extends HydrantError {
  readonly failed: ReadonlyArray<{ readonly index: number; readonly reason: string }>;
  constructor(message: string, failed: ReadonlyArray<{ index: number; reason: string }>) {
    super('PARTIAL_BATCH', message, { details: { failed: failed.length } });
    this.failed = failed;
  }
}

/** Acknowledged data failed its checksum: never served, always reported. */
export class CorruptionError extends HydrantError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('DATA_CORRUPT', message, details === undefined ? undefined : { details });
  }
}

/** A value or record could not be encoded or decoded. */
export class CodecError extends HydrantError {
  constructor(message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super('CODEC_ERROR', message, options);
  }
}

/** A named thing (stream, shard, consumer, table) does not exist. */
export class NotFoundError extends HydrantError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('NOT_FOUND', message, details === undefined ? undefined : { details });
  }
}
