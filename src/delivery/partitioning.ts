/**
 * Prefix templates: how a record's output partition (its object key prefix) is derived.
 *
 * A template is text with placeholders in braces:
 * - `{source}` `{database}` `{schema}` `{table}`: where a change came from (for events,
 *   `{source}` is the event source's name and the others are empty);
 * - `{delivery}`: the delivery's name;
 * - `{field:NAME}`: a record field (dynamic partitioning): the row's column (after image, or
 *   before image for deletes), or a top-level field of an event's data;
 * - `{key:NAME}`: a partition key the delivery-edge transforms attached to the record;
 * - `{event_time:FORMAT}` / `{arrival_time:FORMAT}`: the commit/event time or the time the
 *   stream accepted the record, formatted in the template's time zone with the tokens
 *   `YYYY MM DD HH mm ss` (e.g. `year={event_time:YYYY}/month={event_time:MM}`).
 *
 * Values are made safe for keys: `/`, `\`, control characters and `%` are percent-encoded;
 * a missing or null value renders as `__null__`, an empty one as `__empty__`.
 */
import type { Envelope } from '../core/change-event.ts';
import { HydrantError } from '../core/errors.ts';
import type { Value } from '../core/values.ts';
import { valueToText } from './formats/text-values.ts';

/** What a template is rendered from. */
export interface PartitionInput {
  readonly envelope: Envelope;
  /** Epoch ms when the stream accepted the record. */
  readonly arrivalTime: number;
  readonly partitionKeys?: Readonly<Record<string, string>> | undefined;
  readonly delivery: string;
}

type Part = (i: PartitionInput) => string;

/** A parsed prefix template. */
export class PrefixTemplate {
  readonly text: string;
  readonly #parts: readonly Part[];

  constructor(text: string, timeZone: string) {
    this.text = text;
    this.#parts = parse(text, timeZone);
  }

  /** The prefix (no leading or trailing `/`) for one record. */
  render(i: PartitionInput): string {
    let s = '';
    for (const p of this.#parts) s += p(i);
    return s.replace(/\/+/g, '/').replace(/^\/|\/$/g, '');
  }
}

/** Hive-style `name=value` segments of a rendered prefix (the catalog's partition values). */
export function partitionValues(prefix: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const seg of prefix.split('/')) {
    const eq = seg.indexOf('=');
    if (eq > 0) out[seg.slice(0, eq)] = decodeURIComponent(seg.slice(eq + 1));
  }
  return out;
}

// eslint-disable-next-line no-control-regex
const UNSAFE = /[%/\\\u0000-\u001f\u007f]/;

/** Makes a value safe as (part of) a key segment. */
export function safeSegment(v: string): string {
  if (v === '') return '__empty__';
  if (!UNSAFE.test(v)) return v;
  // eslint-disable-next-line no-control-regex
  return v.replace(/[%/\\\u0000-\u001f\u007f]/g, (c) => '%' + c.charCodeAt(0).toString(16).padStart(2, '0').toUpperCase());
}

function parse(text: string, timeZone: string): Part[] {
  const parts: Part[] = [];
  const re = /\{([a-z_]+)(?::([^}]*))?\}/g;
  let last = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const lit = text.slice(last, m.index);
    if (lit.includes('{') || lit.includes('}')) throw bad(text, `unbalanced brace in ${JSON.stringify(lit)}`);
    if (lit !== '') parts.push(() => lit);
    parts.push(placeholder(text, m[1] as string, m[2], timeZone));
    last = re.lastIndex;
  }
  const tail = text.slice(last);
  if (tail.includes('{') || tail.includes('}')) throw bad(text, `unbalanced brace in ${JSON.stringify(tail)}`);
  if (tail !== '') parts.push(() => tail);
  return parts;
}

function bad(text: string, why: string): HydrantError {
  return new HydrantError('LAKE_TEMPLATE_INVALID', `invalid prefix template ${JSON.stringify(text)}: ${why}. Placeholders: {source} {database} {schema} {table} {delivery} {field:NAME} {key:NAME} {event_time:FORMAT} {arrival_time:FORMAT}.`);
}

function placeholder(text: string, name: string, arg: string | undefined, timeZone: string): Part {
  const src = (f: 'database' | 'schema' | 'table'): Part => (i) => (i.envelope.op === 'event' ? '' : safeSegment(i.envelope.source[f]));
  switch (name) {
    case 'source':
      return (i) => safeSegment(i.envelope.source.name);
    case 'database':
    case 'schema':
    case 'table':
      return src(name);
    case 'delivery':
      return (i) => safeSegment(i.delivery);
    case 'field':
      if (arg === undefined || arg === '') throw bad(text, '{field:NAME} needs a field name');
      return (i) => fieldText(fieldOf(i.envelope, arg));
    case 'key':
      if (arg === undefined || arg === '') throw bad(text, '{key:NAME} needs a key name');
      return (i) => fieldText(i.partitionKeys?.[arg] ?? null);
    case 'event_time':
    case 'arrival_time': {
      const fmt = timeFormatter(text, arg ?? 'YYYY-MM-DD', timeZone);
      return name === 'arrival_time' ? (i) => fmt(i.arrivalTime) : (i) => fmt(eventTimeOf(i));
    }
    default:
      throw bad(text, `unknown placeholder {${name}}`);
  }
}

/** Commit time of a change, event time of an event (arrival time when it has none), in ms. */
export function eventTimeOf(i: Pick<PartitionInput, 'envelope' | 'arrivalTime'>): number {
  const e = i.envelope;
  const t = e.op === 'event' ? e.eventTime : e.source.commitTime;
  if (t === null) return i.arrivalTime;
  const ms = t.toMillis();
  return Number.isFinite(ms) ? ms : i.arrivalTime;
}

function fieldOf(e: Envelope, name: string): Value {
  if (e.op === 'event') {
    const d = e.data;
    if (d !== null && typeof d === 'object' && !Array.isArray(d) && !(d instanceof Uint8Array) && Object.getPrototypeOf(d) === Object.prototype) return (d as Record<string, Value>)[name] ?? null;
    return null;
  }
  const row = e.after ?? e.before ?? e.key;
  return row[name] ?? null;
}

function fieldText(v: Value): string {
  return v === null ? '__null__' : safeSegment(valueToText(v));
}

function timeFormatter(text: string, format: string, timeZone: string): (ms: number) => string {
  if (!/^(?:YYYY|MM|DD|HH|mm|ss|[^A-Za-z])*$/.test(format)) throw bad(text, `time format ${JSON.stringify(format)} may only use YYYY MM DD HH mm ss and punctuation`);
  const fields = (ms: number): Record<string, string> => {
    if (timeZone === 'UTC') {
      const d = new Date(ms);
      return { YYYY: String(d.getUTCFullYear()).padStart(4, '0'), MM: p2(d.getUTCMonth() + 1), DD: p2(d.getUTCDate()), HH: p2(d.getUTCHours()), mm: p2(d.getUTCMinutes()), ss: p2(d.getUTCSeconds()) };
    }
    const out: Record<string, string> = {};
    for (const p of zoned(timeZone).formatToParts(new Date(ms))) {
      if (p.type === 'year') out['YYYY'] = p.value.padStart(4, '0');
      else if (p.type === 'month') out['MM'] = p.value;
      else if (p.type === 'day') out['DD'] = p.value;
      else if (p.type === 'hour') out['HH'] = p.value === '24' ? '00' : p.value;
      else if (p.type === 'minute') out['mm'] = p.value;
      else if (p.type === 'second') out['ss'] = p.value;
    }
    return out;
  };
  const tokens = format.split(/(YYYY|MM|DD|HH|mm|ss)/).filter((s) => s !== '');
  // Consecutive records mostly share their second: remember the last one.
  let lastSecond = NaN;
  let last = '';
  return (ms) => {
    const sec = Math.floor(ms / 1000);
    if (sec === lastSecond) return last;
    const f = fields(ms);
    last = tokens.map((t) => f[t] ?? t).join('');
    lastSecond = sec;
    return last;
  };
}

const zones = new Map<string, Intl.DateTimeFormat>();
function zoned(tz: string): Intl.DateTimeFormat {
  let f = zones.get(tz);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
    zones.set(tz, f);
  }
  return f;
}

function p2(n: number): string {
  return n < 10 ? '0' + n : String(n);
}

/** Checks that a time zone name is known (for config validation). */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
