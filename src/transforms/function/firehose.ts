/**
 * The Firehose data-transformation contract, as a Lambda sees it:
 *
 * ```
 * in:  { invocationId, records: [{ recordId, approximateArrivalTimestamp, data }] }   data = base64
 * out: { records: [{ recordId, result: 'Ok' | 'Dropped' | 'ProcessingFailed', data, metadata?: { partitionKeys } }] }
 * ```
 *
 * In Hydrant `data` is the record's envelope as JSON (the stream's own bytes, lossless value
 * tags included). Returned data that is an envelope (has `"v": 1`) replaces the record;
 * any other JSON document becomes the `data` of an `event` envelope from the same source.
 */
import { encodeEnvelope, envelopeFromJson, partitionKeyOf, type Envelope } from '../../core/change-event.ts';
import { decodeValue } from '../../core/values.ts';
import type { TransformItem } from '../transform.ts';

/** One record handed to the function. */
export interface FirehoseInputRecord {
  readonly recordId: string;
  /** Epoch milliseconds. */
  readonly approximateArrivalTimestamp: number;
  /** Base64 of the record's bytes. */
  readonly data: string;
}

/** The function's input. */
export interface FirehoseEvent {
  readonly invocationId: string;
  readonly records: readonly FirehoseInputRecord[];
}

/** What the function decided for one record. */
export type FirehoseRecordOutcome =
  | { readonly kind: 'ok'; readonly item: TransformItem }
  | { readonly kind: 'dropped' }
  | { readonly kind: 'failed'; readonly reason: string };

/** The response broke the contract as a whole (missing or unknown ids, wrong shape): the invocation failed. */
export class ContractViolation extends Error {}

/** Builds the function's input from transform items. */
export function toFirehoseEvent(invocationId: string, items: readonly TransformItem[]): FirehoseEvent {
  return {
    invocationId,
    records: items.map((it) => ({ recordId: it.id, approximateArrivalTimestamp: it.arrivalTime, data: Buffer.from(encodeEnvelope(it.envelope)).toString('base64') })),
  };
}

const RESULTS = new Set(['Ok', 'Dropped', 'ProcessingFailed']);

function listIds(ids: readonly string[]): string {
  return ids.slice(0, 5).map((x) => JSON.stringify(x)).join(', ') + (ids.length > 5 ? ` and ${ids.length - 5} more` : '');
}

/**
 * Checks a response against the batch and returns one outcome per input item, in input order.
 * Throws {@link ContractViolation} naming the problem when the response as a whole is wrong.
 */
export function parseFirehoseResponse(items: readonly TransformItem[], response: unknown): FirehoseRecordOutcome[] {
  if (typeof response !== 'object' || response === null || !Array.isArray((response as { records?: unknown }).records)) {
    throw new ContractViolation(`the function must return { records: [...] }, it returned ${describe(response)}`);
  }
  const records = (response as { records: unknown[] }).records;
  const byId = new Map(items.map((it, i) => [it.id, i]));
  const seen = new Map<string, Record<string, unknown>>();
  const unknown: string[] = [];
  const duplicate: string[] = [];
  for (const r of records) {
    if (typeof r !== 'object' || r === null) throw new ContractViolation(`every returned record must be an object, found ${describe(r)}`);
    const rec = r as Record<string, unknown>;
    const id = rec['recordId'];
    if (typeof id !== 'string') throw new ContractViolation(`a returned record has no string recordId (found ${describe(id)})`);
    if (!byId.has(id)) unknown.push(id);
    else if (seen.has(id)) duplicate.push(id);
    else seen.set(id, rec);
  }
  const missing = items.filter((it) => !seen.has(it.id)).map((it) => it.id);
  if (unknown.length > 0 || missing.length > 0 || duplicate.length > 0) {
    const parts = [];
    if (unknown.length > 0) parts.push(`recordIds not in the batch: ${listIds(unknown)}`);
    if (duplicate.length > 0) parts.push(`recordIds returned twice: ${listIds(duplicate)}`);
    if (missing.length > 0) parts.push(`recordIds missing from the response: ${listIds(missing)}`);
    throw new ContractViolation(`the function's response does not match its input (${records.length} records returned for ${items.length}): ${parts.join('; ')}; return exactly one record per input recordId`);
  }
  return items.map((it) => {
    const rec = seen.get(it.id) as Record<string, unknown>;
    const result = rec['result'];
    if (typeof result !== 'string' || !RESULTS.has(result)) throw new ContractViolation(`record ${JSON.stringify(it.id)}: result must be Ok, Dropped or ProcessingFailed, found ${typeof result === 'string' ? JSON.stringify(result.slice(0, 20)) : describe(result)}`);
    if (result === 'Dropped') return { kind: 'dropped' };
    if (result === 'ProcessingFailed') return { kind: 'failed', reason: 'the function returned ProcessingFailed' };
    return okOutcome(it, rec);
  });
}

function okOutcome(it: TransformItem, rec: Record<string, unknown>): FirehoseRecordOutcome {
  const data = rec['data'];
  if (typeof data !== 'string') return { kind: 'failed', reason: `the function returned Ok without base64 data for record ${JSON.stringify(it.id)}` };
  let envelope: Envelope;
  try {
    const json = JSON.parse(Buffer.from(data, 'base64').toString('utf8')) as unknown;
    envelope = typeof json === 'object' && json !== null && !Array.isArray(json) && 'v' in json ? envelopeFromJson(json as Record<string, unknown>) : wrap(it.envelope, json);
  } catch (err) {
    return { kind: 'failed', reason: `the function returned data that is not base64 of a JSON document for record ${JSON.stringify(it.id)}: ${(err as Error).message}` };
  }
  const pk = (rec['metadata'] as { partitionKeys?: unknown } | undefined)?.partitionKeys;
  if (pk === undefined || pk === null) return { kind: 'ok', item: { ...it, envelope } };
  if (typeof pk !== 'object' || Array.isArray(pk) || !Object.values(pk).every((v) => typeof v === 'string')) {
    return { kind: 'failed', reason: `metadata.partitionKeys of record ${JSON.stringify(it.id)} must map names to strings, found ${describe(pk)}` };
  }
  return { kind: 'ok', item: { ...it, envelope, partitionKeys: { ...(it.partitionKeys ?? {}), ...(pk as Record<string, string>) } } };
}

/** Wraps arbitrary returned JSON as an event from the original record's source. */
function wrap(original: Envelope, json: unknown): Envelope {
  return {
    op: 'event',
    source: { kind: original.source.kind, name: original.source.name, position: original.source.position },
    key: partitionKeyOf(original),
    eventTime: original.op === 'event' ? original.eventTime : original.source.commitTime,
    data: decodeValue(json),
  };
}

/** The shape of a value, never its content: a response may carry personal data, and reasons are logged. */
function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'object') return `an object with keys ${JSON.stringify(Object.keys(v).slice(0, 8))}`;
  return `a ${typeof v}`;
}
