/**
 * `validate`: checks records against a JSON Schema at ingress. Valid records go on; invalid
 * ones are counted and either returned as failed (the runner writes them under
 * `errors/<delivery or source>/processing-failed/` with the validation message) or appended to an
 * error stream, so the pipeline keeps running.
 */
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { z } from 'zod';
import { encodeValue, type Value } from '../../core/values.ts';
import { envelopeToJson, partitionKeyOf, type Envelope } from '../../core/change-event.ts';
import type { ComponentContext, ComponentDescriptor } from '../../core/component.ts';
import { ConfigError } from '../../core/errors.ts';
import type { Metrics } from '../../core/metrics.ts';
import type { StreamLog } from '../../stream/stream-log.ts';
import { compileTablePatterns, tableRefOf, type TableRef } from '../common/patterns.ts';
import { primaryRow } from '../common/rows.ts';
import type { FailedItem, Transform, TransformItem, TransformResult } from '../transform.ts';
import { toPlainJson } from './plain-json.ts';

export const validateConfig = z
  .strictObject({
    tables: z.array(z.string().min(1)).min(1).default(['*']).describe('Table patterns validated (log events match by source name); others pass unchecked'),
    schema: z.record(z.string(), z.unknown()).optional().describe('The JSON Schema, inline'),
    schema_file: z.string().min(1).optional().describe('Path of a JSON Schema file'),
    target: z.enum(['row', 'envelope']).default('row').describe('`row`: the row a change is about (after; before for deletes) or a log event\'s data; `envelope`: the whole change event'),
    on_invalid: z.enum(['fail', 'stream']).default('fail').describe('`fail`: return invalid records as failed (written to `errors/<delivery or source>/processing-failed/`); `stream`: append them to `error_stream`'),
    error_stream: z.string().min(1).optional().describe('Stream that receives invalid records when `on_invalid: stream`'),
    max_errors: z.number().int().min(1).default(5).describe('Validation messages kept per record'),
  })
  .refine((c) => (c.schema === undefined) !== (c.schema_file === undefined), { message: 'give exactly one of `schema` or `schema_file`' })
  .refine((c) => c.on_invalid !== 'stream' || c.error_stream !== undefined, { message: '`on_invalid: stream` needs `error_stream`', path: ['error_stream'] })
  .describe('Validate records against a JSON Schema');
export type ValidateConfig = z.output<typeof validateConfig>;

/** Formats ajv errors as one line: `/email: must match format "email"; ...`. */
export function formatValidationErrors(errors: readonly ErrorObject[] | null | undefined, max: number): string {
  const list = (errors ?? []).slice(0, max).map((e) => `${e.instancePath === '' ? '(root)' : e.instancePath}: ${e.message ?? e.keyword}${e.keyword === 'additionalProperties' ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})` : ''}`);
  const more = (errors?.length ?? 0) - list.length;
  return list.join('; ') + (more > 0 ? `; and ${more} more` : '');
}

/** Validates records. */
export class ValidateTransform implements Transform {
  readonly #c: ValidateConfig;
  readonly #name: string;
  readonly #check: ValidateFunction;
  readonly #tables: (t: TableRef) => boolean;
  readonly #metrics: Metrics;
  readonly #log: StreamLog | undefined;

  constructor(config: ValidateConfig, ctx: Pick<ComponentContext, 'name' | 'metrics'> & { readonly log?: StreamLog }) {
    this.#c = config;
    this.#name = ctx.name;
    this.#metrics = ctx.metrics;
    this.#log = ctx.log;
    this.#tables = compileTablePatterns(config.tables);
    const schema = config.schema ?? readSchemaFile(config.schema_file as string, ctx.name);
    try {
      this.#check = new Ajv({ allErrors: true, strict: false }).compile(schema);
    } catch (err) {
      throw new ConfigError([{ file: config.schema_file ?? '(inline schema)', line: undefined, path: `transforms.${ctx.name}.schema`, message: `invalid JSON Schema: ${(err as Error).message}` }]);
    }
  }

  async apply(items: readonly TransformItem[]): Promise<TransformResult> {
    const ok: TransformItem[] = [];
    const failed: FailedItem[] = [];
    for (const it of items) {
      const e = it.envelope;
      if (!this.#tables(tableRefOf(e)) || this.#check(this.#subject(e))) {
        ok.push(it);
        continue;
      }
      const where = e.op === 'event' ? e.source.name : `${e.source.schema}.${e.source.table}`;
      failed.push({ item: it, reason: `validate ${this.#name}: ${where} record at position ${e.source.position} is invalid: ${formatValidationErrors(this.#check.errors, this.#c.max_errors)}`, attempts: 1 });
    }
    const labels = { transform: this.#name };
    if (ok.length > 0) this.#metrics.inc('hydrant_transform_valid_records_total', 'Records that passed JSON Schema validation', labels, ok.length);
    if (failed.length > 0) this.#metrics.inc('hydrant_transform_invalid_records_total', 'Records that failed JSON Schema validation', labels, failed.length);
    if (failed.length === 0 || this.#c.on_invalid === 'fail') return { items: ok, failed };
    await this.#toStream(failed);
    return { items: ok, failed: [] };
  }

  #subject(e: Envelope): unknown {
    if (this.#c.target === 'envelope') return JSON.parse(envelopeToJson(e)) as unknown;
    const row = primaryRow(e);
    if (row !== null) return toPlainJson(row);
    return e.op === 'event' ? toPlainJson(e.data) : null;
  }

  async #toStream(failed: readonly FailedItem[]): Promise<void> {
    const stream = this.#c.error_stream as string;
    if (this.#log === undefined) throw new Error(`validate ${this.#name}: no stream log to write invalid records to`);
    // Durable before the runner moves on: the invalid records are only kept here.
    await this.#log.append(
      stream,
      failed.map((f) => ({
        partitionKey: partitionKeyOf(f.item.envelope),
        data: Buffer.from(JSON.stringify({ transform: this.#name, reason: f.reason, recordId: f.item.id, arrivalTime: f.item.arrivalTime, failedAt: Date.now(), envelope: JSON.parse(envelopeToJson(f.item.envelope)) as unknown, partitionKeys: f.item.partitionKeys === undefined ? null : encodeValue(f.item.partitionKeys as Value) })),
      })),
    );
  }

  async close(): Promise<void> {}
}

function readSchemaFile(path: string, name: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError([{ file: path, line: undefined, path: `transforms.${name}.schema_file`, message: `cannot read the JSON Schema: ${(err as Error).message}` }]);
  }
}

/** `type: validate`. */
export const validate: ComponentDescriptor<typeof validateConfig, Transform> = {
  kind: 'validate',
  summary: 'Validate records against a JSON Schema; invalid ones go to errors or an error stream, counted',
  config: validateConfig,
  async create(config, ctx) {
    const t = new ValidateTransform(config, ctx);
    if (config.on_invalid === 'stream') await ctx.log.ensureStream(config.error_stream as string, { shards: 1 });
    return t;
  },
};
