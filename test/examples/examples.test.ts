// Every pipeline under examples/ (and so the README's pipeline, which is examples/postgres-to-s3.yaml)
// must pass `hydrant validate`, so the docs cannot drift from the config schemas.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadPipeline } from '../../src/config/load-pipeline.ts';

const dir = 'examples';
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));

test('there are example pipelines', () => assert.ok(files.length >= 2));

for (const f of files) {
  test(`examples/${f} is a valid pipeline`, async () => {
    await loadPipeline(join(dir, f));
  });
}

test('the README shows examples/postgres-to-s3.yaml verbatim', () => {
  const readme = readFileSync('README.md', 'utf8');
  const body = readFileSync(join(dir, 'postgres-to-s3.yaml'), 'utf8').split('\n').slice(2).join('\n');
  assert.ok(readme.includes(body), 'README pipeline differs from examples/postgres-to-s3.yaml: update the README');
});
