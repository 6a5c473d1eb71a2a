/**
 * Every registered component follows the descriptor contract the validator and the docs rely
 * on: a snake_case kind, a summary, a strict object config (unknown keys are errors) and a
 * description on every field, nested ones included.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { z } from 'zod';
import { defaultRegistries } from '../../src/config/validate-pipeline.ts';
import { nestedFields, unwrap } from '../../src/config/schema-walk.ts';

test('registered descriptors: snake_case kind, summary, strict config, every field described', () => {
  const problems: string[] = [];
  for (const [section, list] of Object.entries(defaultRegistries)) {
    const seen = new Set<string>();
    for (const d of list as ReadonlyArray<{ kind: string; summary: string; config: z.ZodType }>) {
      const at = `${section}.${d.kind}`;
      if (!/^[a-z][a-z0-9_]*$/.test(d.kind)) problems.push(`${at}: kind is not snake_case`);
      if (seen.has(d.kind)) problems.push(`${at}: kind registered twice`);
      seen.add(d.kind);
      if (d.summary.trim() === '') problems.push(`${at}: empty summary`);
      const def = (unwrap(d.config) as unknown as { _zod: { def: { type: string; catchall?: { _zod: { def: { type: string } } } } } })._zod.def;
      if (def.type !== 'object' || def.catchall?._zod.def.type !== 'never') problems.push(`${at}: config is not a z.strictObject, so unknown keys would pass silently`);
      for (const f of nestedFields(d.config)) if (f.description === undefined || f.description.trim() === '') problems.push(`${at}: field ${f.name} has no .describe()`);
    }
  }
  assert.deepEqual(problems, []);
});
