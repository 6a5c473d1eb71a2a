/**
 * Transform throughput: anonymize (a typical customer config) and flatten (nested JSON and
 * DynamoDB items) in records/s, against the record encoding every stored record pays anyway
 * (the peer, measured in the same run); and the function transform's overhead per record
 * (worker threads, base64 + JSON both ways) against an in-process pass-through.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeEnvelope, type ChangeEvent, type Envelope } from '../src/core/change-event.ts';
import { silentLogger } from '../src/core/logger.ts';
import { Metrics } from '../src/core/metrics.ts';
import { DateValue, JsonText, Timestamp } from '../src/core/values.ts';
import { Anonymizer } from '../src/transforms/anonymize/anonymizer.ts';
import { anonymizeConfig } from '../src/transforms/anonymize/config.ts';
import { FlattenTransform, flattenConfig } from '../src/transforms/flatten/flatten.ts';
import { FunctionTransform, functionConfig } from '../src/transforms/function/function.ts';
import type { Transform, TransformItem } from '../src/transforms/transform.ts';
import type { Benchmark, BenchRow } from './harness.ts';

const BATCH = 1000;

function customer(i: number): ChangeEvent {
  return {
    op: 'insert',
    source: { kind: 'bench', name: 'shop', database: 'shop', schema: 'public', table: 'customers', position: String(i).padStart(12, '0'), commitTime: Timestamp.fromMillis(1_700_000_000_000 + i) },
    key: { id: i },
    before: null,
    after: { id: i, name: `Customer Number ${i}`, email: `customer.${i}@example.com`, phone: `+1 (555) ${String(i % 1000).padStart(3, '0')}-${String(i % 10_000).padStart(4, '0')}`, address: `${i % 999} Main Street, Springfield`, birth_date: new DateValue(3000 + (i % 15_000)), created_at: Timestamp.fromMillis(1_600_000_000_000 + i) },
    schemaVersion: 1,
  };
}

function nested(i: number): ChangeEvent {
  const doc = i % 2 === 0
    ? new JsonText(JSON.stringify({ user: { id: i, profile: { lang: 'en', tz: 'UTC' } }, tags: ['a', 'b'], score: i / 3 }))
    : { user: { S: `u#${i}` }, age: { N: String(i % 90) }, prefs: { M: { lang: { S: 'en' }, n: { N: '1.5' } } }, tags: { SS: ['x', 'y'] } };
  return { ...customer(i), source: { ...customer(i).source, table: 'docs' }, after: { id: i, doc } };
}

/**
 * Runs `n` fresh records (unique values, so no memo hides the work) through `step` in batches
 * of BATCH; only `step` is timed. Returns records/s.
 */
async function throughput(n: number, make: (i: number) => Envelope, step: (batch: readonly TransformItem[]) => Promise<unknown> | unknown): Promise<number> {
  const batchOf = (from: number, size: number): TransformItem[] => Array.from({ length: size }, (_v, j) => ({ id: String(j), envelope: make(from + j), arrivalTime: 1_700_000_000_000 }));
  // Warm-up: JIT, not measured.
  await step(batchOf(10_000_000, BATCH));
  let ns = 0n;
  for (let done = 0; done < n; done += BATCH) {
    const batch = batchOf(done, Math.min(BATCH, n - done));
    const t0 = process.hrtime.bigint();
    await step(batch);
    ns += process.hrtime.bigint() - t0;
  }
  return n / (Number(ns) / 1e9);
}

const ANON = anonymizeConfig.parse({
  key: { env: 'UNUSED' },
  rules: [
    { tables: ['customers'], columns: ['id'], action: 'pseudonymize' },
    { columns: ['email'], action: 'pseudonymize' },
    { columns: ['name', 'address'], action: 'redact' },
    { columns: ['phone'], action: 'tokenize' },
    { columns: ['birth_date'], action: 'generalize', to: 'year' },
  ],
});

export const bench: Benchmark = {
  name: 'transforms',
  summary: 'anonymize and flatten throughput vs record encoding; function transform overhead per record vs pass-through',
  async run({ smoke, n, workDir }) {
    const records = n ?? (smoke ? 20_000 : 1_000_000);
    const fnRecords = smoke ? 2_000 : Math.min(records, 200_000);
    const rows: BenchRow[] = [];

    const encode = await throughput(records, customer, (b) => {
      for (const it of b) encodeEnvelope(it.envelope);
    });
    rows.push({ name: 'encode envelope (peer: paid by every stored record)', value: encode, unit: 'records/s' });

    const anon = new Anonymizer(ANON, Buffer.from('bench-secret-key-0123456789abcdef'));
    const anonRate = await throughput(records, customer, (b) => anon.apply(b));
    rows.push({ name: 'anonymize (7 columns: 2 pseudonymize, tokenize, 2 redact, generalize)', value: anonRate, unit: 'records/s', note: `${records.toLocaleString('en-US')} records` });

    const flat = new FlattenTransform(flattenConfig.parse({}));
    const flatRate = await throughput(records, nested, (b) => flat.apply(b));
    rows.push({ name: 'flatten (half nested JSON text, half DynamoDB items)', value: flatRate, unit: 'records/s', note: `${records.toLocaleString('en-US')} records` });

    const passThrough: Transform = { apply: async (items) => ({ items: [...items], failed: [] }), close: async () => {} };
    const ptRate = await throughput(fnRecords, customer, (b) => passThrough.apply(b));
    const module = join(workDir, 'identity.mjs');
    writeFileSync(module, 'export async function handler(e) { return { records: e.records.map((r) => ({ recordId: r.recordId, result: "Ok", data: r.data })) }; }\n');
    const fn = await FunctionTransform.start(functionConfig.parse({ module, concurrency: 2, batch_size: 500 }), { name: 'bench', logger: silentLogger, metrics: new Metrics() });
    let fnRate: number;
    try {
      fnRate = await throughput(fnRecords, customer, (b) => fn.apply(b));
    } finally {
      await fn.close();
    }
    rows.push({ name: 'function: identity module on 2 worker threads', value: fnRate, unit: 'records/s', note: `${fnRecords.toLocaleString('en-US')} records, batch 500` });
    rows.push({ name: 'function overhead per record vs in-process pass-through', value: (1 / fnRate - 1 / ptRate) * 1e6, unit: 'µs/record' });
    return {
      rows,
      ratios: [
        { name: 'anonymize / encode envelope', value: anonRate / encode },
        { name: 'flatten / encode envelope', value: flatRate / encode },
      ],
    };
  },
};
