/**
 * Structured logs: one JSON object per line on stderr (`{"t":..., "level":..., "msg":..., ...}`).
 * Components take a {@link Logger} from their context; `child` adds fixed fields.
 * Never pass secret values as fields.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

/** Where log lines go; tests pass an array collector. */
export type LogSink = (line: string) => void;

/** Creates a JSON-lines logger. Level from `HYDRANT_LOG_LEVEL` unless given. */
export function createLogger(options: { level?: LogLevel; sink?: LogSink; fields?: Record<string, unknown> } = {}): Logger {
  const level = options.level ?? ((process.env['HYDRANT_LOG_LEVEL'] as LogLevel | undefined) ?? 'info');
  const min = ORDER[level] ?? 20;
  const sink = options.sink ?? ((line: string) => process.stderr.write(line + '\n'));
  const base = options.fields ?? {};
  const emit = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>): void => {
    if (ORDER[lvl] < min) return;
    sink(JSON.stringify({ t: new Date().toISOString(), level: lvl, msg, ...base, ...fields }, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v instanceof Error ? { name: v.name, message: v.message, code: (v as { code?: unknown }).code } : v)));
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger({ level, sink, fields: { ...base, ...fields } }),
  };
}

/** A logger that drops everything (for benchmarks and unit tests). */
export const silentLogger: Logger = createLogger({ level: 'error', sink: () => {} });
