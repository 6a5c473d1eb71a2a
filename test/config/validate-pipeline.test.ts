import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPipeline } from '../../src/config/load-pipeline.ts';
import { validatePipelineText } from '../../src/config/validate-pipeline.ts';
import { ConfigError } from '../../src/core/errors.ts';
import { testRegistries } from './test-registries.ts';

const VALID = `
name: orders
data_dir: ./state-here
lake: { type: fs, path: lake }
streams:
  cdc: { shards: 4, retention_age: 7d, retention_bytes: 1GiB, retention_policy: hold }
  events: {}
sources:
  pg:
    type: test_source
    stream: cdc
    transforms: [mask_pii]
    host: \${PG_HOST}
    port: \${PG_PORT}
    password: "\${PG_PASSWORD}"
    poll_interval: 250ms
    tables: ["\${TABLE:-orders}"]
transforms:
  mask_pii: { type: mask, columns: [email] }
deliveries:
  lake:
    type: test_sink
    stream: cdc
    format: parquet
  raw:
    type: test_sink
    stream: events
    transforms: [mask_pii]
`;

test('a valid pipeline becomes a spec with defaults, units and env values applied', () => {
  const env = { PG_HOST: 'db', PG_PORT: '6543', PG_PASSWORD: '0123456789abcdef' };
  const r = validatePipelineText(VALID, '/etc/hydrant/orders.yaml', { env, registries: testRegistries });
  assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.issues, null, 2));
  const spec = r.spec;
  assert.equal(spec.name, 'orders');
  assert.equal(spec.file, '/etc/hydrant/orders.yaml');
  assert.equal(spec.dataDir, '/etc/hydrant/state-here');
  assert.deepEqual(spec.lake, { type: 'fs', path: 'lake' });
  assert.deepEqual(spec.state, { type: 'embedded', compact_after: 16 * 2 ** 20 });
  assert.deepEqual(spec.streams['cdc'], { name: 'cdc', shards: 4, backend: 'embedded', retention_age: 7 * 86_400_000, retention_bytes: 2 ** 30, retention_policy: 'hold' });
  assert.deepEqual(spec.streams['events'], { name: 'events', shards: 1, backend: 'embedded', retention_age: 86_400_000, retention_policy: 'delete' });
  const pg = spec.sources['pg'];
  assert.ok(pg !== undefined);
  assert.equal(pg.type, 'test_source');
  assert.equal(pg.descriptor.kind, 'test_source');
  assert.equal(pg.stream, 'cdc');
  assert.deepEqual(pg.transforms, ['mask_pii']);
  // An unquoted ${PG_PORT} becomes a number like a literal would; a quoted one stays a string.
  assert.deepEqual(pg.config, { host: 'db', port: 6543, password: '0123456789abcdef', poll_interval: 250, batch_bytes: 2 ** 20, tables: ['orders'] });
  assert.deepEqual(spec.transforms['mask_pii']?.config, { columns: ['email'] });
  assert.deepEqual(spec.deliveries['lake']?.config, { format: 'parquet', max_age: 60_000 });
  assert.deepEqual(spec.deliveries['lake']?.transforms, []);
  assert.deepEqual(spec.deliveries['raw']?.transforms, ['mask_pii']);
});

test('a quoted env value stays a string even when it looks like a number', () => {
  const r = validatePipelineText(VALID.replace('port: ${PG_PORT}', 'port: "${PG_PORT}"'), 'p.yaml', { env: { PG_HOST: 'db', PG_PORT: '6543', PG_PASSWORD: '0123456789abcdef' }, registries: testRegistries });
  assert.equal(r.ok, false);
  assert.deepEqual(r.ok ? [] : r.issues.map((i) => `${i.line}: ${i.path}: ${i.message}`), ['14: sources.pg.port: expected a number, found a string (value hidden: the key looks secret or the value comes from the environment)']);
});

test('the real registries accept the shipped example pipeline', async () => {
  const spec = await loadPipeline(new URL('../../examples/demo.yaml', import.meta.url).pathname, { env: {} });
  assert.equal(spec.name, 'demo');
  assert.ok(Object.keys(spec.sources).length > 0);
});

test('loadPipeline throws a ConfigError for a missing file and for every problem of a bad one', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hydrant-config-'));
  try {
    await assert.rejects(loadPipeline(join(dir, 'nope.yaml')), (err: unknown) => err instanceof ConfigError && err.code === 'CONFIG_INVALID' && /does not exist/.test(err.message));
    const file = join(dir, 'bad.yaml');
    await writeFile(file, 'name: x\nstreams: { s: { shards: 0 } }\nbogus: 1\n');
    await assert.rejects(loadPipeline(file, { registries: testRegistries }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(err.issues.map((i) => `${i.line} ${i.path}`), ['2 streams.s.shards', '3 bogus']);
      assert.match(err.message, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2: streams\\.s\\.shards: expected a number >= 1, found a number 0$`, 'm'));
      return true;
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
