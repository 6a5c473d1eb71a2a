/**
 * Every malformed pipeline under fixtures/ states what it must produce in its header:
 * `# expect: LINE PATH MESSAGE-PREFIX` (PATH `(root)` for the document) and optionally
 * `# absent: TEXT` for text (secret values) that must not appear in any message. The
 * validator must report exactly the expected issues, all at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { validatePipelineText } from '../../src/config/validate-pipeline.ts';
import { formatConfigIssues } from '../../src/core/errors.ts';
import { testRegistries } from './test-registries.ts';

const dir = fileURLToPath(new URL('./fixtures/', import.meta.url));
const env = { HYDRANT_TEST_SET: '', HYDRANT_TEST_EMPTY: '', HYDRANT_TEST_SECRETISH: 'pa55word' };

for (const name of readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()) {
  test(`config fixture ${name}`, () => {
    const file = join(dir, name);
    const text = readFileSync(file, 'utf8');
    const expected = [...text.matchAll(/^# expect: (\d+) (\S+) (.+)$/gm)].map((m) => ({ line: Number(m[1]), path: m[2] === '(root)' ? '' : (m[2] as string), message: m[3] as string }));
    const absent = [...text.matchAll(/^# absent: (.+)$/gm)].map((m) => m[1] as string);
    assert.ok(expected.length > 0, `${name} has no "# expect:" lines`);
    const result = validatePipelineText(text, file, { env, registries: testRegistries });
    assert.equal(result.ok, false, `${name} validated without problems`);
    if (result.ok) return;
    const rendered = formatConfigIssues(result.issues);
    for (const e of expected) {
      assert.ok(
        result.issues.some((i) => i.file === file && i.line === e.line && i.path === e.path && i.message.startsWith(e.message)),
        `${name}: expected ${e.line} ${e.path || '(root)'}: ${e.message}\nbut got:\n${rendered}`,
      );
    }
    assert.equal(result.issues.length, expected.length, `${name}: unexpected extra issues:\n${rendered}`);
    for (const a of absent) assert.ok(!rendered.includes(a), `${name}: a message echoes ${JSON.stringify(a)}:\n${rendered}`);
  });
}
