/** Builders of change events and transform contexts for the transform tests. */
import type { ChangeEvent, ChangeOp, LogEvent } from '../../src/core/change-event.ts';
import type { ComponentContext } from '../../src/core/component.ts';
import { createLogger } from '../../src/core/logger.ts';
import { Metrics } from '../../src/core/metrics.ts';
import { Timestamp, type Row, type Value } from '../../src/core/values.ts';
import { MemoryStateStore } from '../../src/state/memory-state-store.ts';
import type { TransformItem } from '../../src/transforms/transform.ts';

/** 2024-06-15T12:00:00Z */
export const COMMIT_MS = Date.UTC(2024, 5, 15, 12);

let pos = 0;

/** A change event on `schema.table` of source `shop`. */
export function change(table: string, after: Row | null, options: { op?: ChangeOp; key?: Row; before?: Row | null; schema?: string; unchanged?: string[] } = {}): ChangeEvent {
  const key = options.key ?? (after !== null && 'id' in after ? { id: after['id'] as Value } : {});
  return {
    op: options.op ?? 'insert',
    source: { kind: 'generator', name: 'shop', database: 'shop', schema: options.schema ?? 'public', table, position: String(++pos).padStart(8, '0'), commitTime: Timestamp.fromMillis(COMMIT_MS) },
    key,
    before: options.before ?? null,
    after,
    schemaVersion: 1,
    ...(options.unchanged === undefined ? {} : { unchanged: options.unchanged }),
  };
}

/** A log event from source `web`. */
export function logEvent(data: Value, key: string | null = null): LogEvent {
  return { op: 'event', source: { kind: 'http', name: 'web', position: String(++pos) }, key, eventTime: null, data };
}

/** Wraps envelopes as transform items with ids `0`, `1`, ... */
export function items(...envs: Array<ChangeEvent | LogEvent>): TransformItem[] {
  return envs.map((envelope, i) => ({ id: String(i), envelope, arrivalTime: COMMIT_MS + 1000 }));
}

/** A component context for factories, with a collecting logger. */
export function context(name = 't', lines: string[] = []): ComponentContext & { lines: string[] } {
  return {
    name,
    pipeline: 'test',
    dataDir: '/nonexistent',
    state: new MemoryStateStore(),
    log: undefined as never,
    lake: undefined as never,
    logger: createLogger({ level: 'debug', sink: (l) => lines.push(l) }),
    metrics: new Metrics(),
    lines,
  };
}
