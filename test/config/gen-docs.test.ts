import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderConfigurationDocs } from '../../scripts/gen-docs.ts';
import { defaultRegistries } from '../../src/config/validate-pipeline.ts';
import { objectFields } from '../../src/config/schema-walk.ts';

test('generated configuration docs list every registered kind with its fields', () => {
  const md = renderConfigurationDocs();
  for (const list of [defaultRegistries.sources, defaultRegistries.transforms, defaultRegistries.deliveries]) {
    for (const d of list) {
      assert.ok(md.includes(`### \`${d.kind}\`\n\n${d.summary}`), `kind ${d.kind} missing`);
      for (const f of objectFields(d.config) ?? []) assert.ok(md.includes(`| \`${f.name}\` |`), `${d.kind}.${f.name} missing`);
    }
  }
  // Units are rendered the way users write them.
  assert.match(md, /\| `retention_age` \| duration \| `24h` \|/);
  assert.match(md, /\| `compact_after` \| byte size \| `16MiB` \|/);
  assert.match(md, /\| `name` \| string \| \*\*required\*\* \|/);
});
