/**
 * End to end: the generator's personal data runs through a typical anonymization config on
 * the source edge, into the stream and the lake (Parquet + gzip JSONL), via the real CLI. Then
 * every byte under the data_dir (stream segments with their partition keys, state store with
 * catalog and checkpoints, lake objects, errors/) and the process's logs is scanned: no
 * original name, email, phone or address may appear, nor the key; pseudonymized keys must
 * still join customers to orders.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { readFileSync } from 'node:fs';
import type { ChangeEvent } from '../../../src/core/change-event.ts';
import { generatorSource } from '../../../src/sources/generator/generator-source.ts';
import { context } from '../support.ts';
import { anonymizeToLakeYaml, listFiles, scanForLeaks } from './leak-scan-support.ts';

const bin = fileURLToPath(new URL('../../../bin/hydrant.js', import.meta.url));
const SEED = 20241121;
const COUNT = 3000;
const KEY = 'leak-test-secret-key-7f3a9c1e5b';

/** The generator's original personal values (same seed and count as the pipeline). */
async function originals(): Promise<{ pii: Set<string>; customerIds: Set<string>; orderCustomerIds: Set<string> }> {
  const src = await generatorSource.create(generatorSource.config.parse({ seed: SEED, count: COUNT }), context('shop'));
  const pii = new Set<string>();
  const customerIds = new Set<string>();
  const orderCustomerIds = new Set<string>();
  await src.start(null);
  const ac = new AbortController();
  for (;;) {
    const b = await src.next(ac.signal);
    for (const e of b.events as ChangeEvent[]) {
      for (const row of [e.after, e.before]) {
        if (row === null) continue;
        if (e.source.table === 'customers') {
          for (const c of ['name', 'email', 'phone', 'address']) if (typeof row[c] === 'string') pii.add(row[c] as string);
          customerIds.add(String(row['id']));
        }
        if (e.source.table === 'orders') orderCustomerIds.add(String(row['customer_id']));
      }
    }
    if (b.caughtUp && b.events.length === 0) break;
  }
  await src.close();
  return { pii, customerIds, orderCustomerIds };
}

async function parquetRows(files: readonly string[], table: string): Promise<Array<Record<string, unknown>>> {
  const out: Array<Record<string, unknown>> = [];
  for (const f of files.filter((x) => x.includes(`/${table}/`) && x.endsWith('.parquet'))) {
    const raw = readFileSync(f);
    out.push(...((await parquetReadObjects({ file: raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength), compressors })) as Array<Record<string, unknown>>));
  }
  return out;
}

test('generator -> anonymize -> stream -> lake: no original personal data anywhere, keys still join', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hydrant-leak-'));
  try {
    const file = join(dir, 'pipeline.yaml');
    writeFileSync(
      file,
      `name: leak
data_dir: data
lake: { type: fs, path: lake }
streams: { changes: { shards: 2 } }
sources:
  shop: { type: generator, stream: changes, seed: ${SEED}, count: ${COUNT}, batch_size: 250, transforms: [anon] }
${anonymizeToLakeYaml('{ env: HYDRANT_TEST_LEAK_KEY }')}`,
    );
    const run = spawnSync(process.execPath, [bin, 'run', file, '--until-caught-up'], { encoding: 'utf8', env: { ...process.env, HYDRANT_TEST_LEAK_KEY: KEY, HYDRANT_LOG_LEVEL: 'debug' }, timeout: 300_000 });
    assert.equal(run.status, 0, `hydrant run failed:\n${run.stderr.slice(-3000)}`);
    const data = join(dir, 'data');
    const files = listFiles(data);
    assert.ok(files.some((f) => f.endsWith('.parquet') && f.includes('/customers/')), `customers Parquet objects written: ${files.join('\n')}`);
    assert.ok(files.some((f) => f.endsWith('.gz') && f.includes('jsonl/')), 'gzip JSONL objects written');

    const { pii, customerIds, orderCustomerIds } = await originals();
    assert.ok(pii.size > 500, `enough personal values to look for: ${pii.size}`);
    const needles = [...pii, KEY];
    const { leaks, files: scanned, bytes } = await scanForLeaks([dir], { 'stdout': run.stdout, 'stderr (logs)': run.stderr }, needles);
    console.log(`# scanned ${scanned} files, ${bytes} bytes, and ${run.stdout.length + run.stderr.length} bytes of logs for ${needles.length} values`);
    assert.deepEqual(leaks.slice(0, 10), [], `${leaks.length} leaks`);

    // Pseudonymized keys: changed, and every order's customer is a customer.
    const customers = await parquetRows(files, 'customers');
    const orders = await parquetRows(files, 'orders');
    assert.ok(customers.length > 0 && orders.length > 0);
    const ids = new Set(customers.map((r) => String(r['id'])));
    const refs = orders.map((r) => String(r['customer_id']));
    const overlap = [...ids].filter((x) => customerIds.has(x)).length;
    assert.ok(overlap < ids.size / 10, `ids are pseudonymized (${overlap} of ${ids.size} equal an original id by chance)`);
    const joined = refs.filter((x) => ids.has(x)).length;
    assert.equal(joined, refs.length, `every order joins a customer (${joined}/${refs.length}); originals: ${orderCustomerIds.size} distinct customer refs`);
    assert.ok(customers.every((r) => r['name'] === '[redacted]' && (r['address'] === null || r['address'] === undefined)));
    assert.ok(customers.every((r) => typeof r['email'] === 'string' && /^[0-9a-f]{32}$/.test(r['email'] as string)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
