/**
 * Property: whatever a pipeline holds under a secret-looking key, in an environment variable or
 * as a URL password, no validation message shows it. Seeded; the seed is printed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { validatePipelineText } from '../../src/config/validate-pipeline.ts';
import { formatConfigIssues } from '../../src/core/errors.ts';
import { testRegistries } from './test-registries.ts';

const secretText = fc.stringMatching(/^[A-Za-z0-9]{6,16}$/).map((s) => `S3cr${s}`);
const secretKey = fc.constantFrom('password', 'api_token', 'secret_access_key', 'db_password', 'auth', 'private_key', 'key');
// Wrong-typed or invalid carriers of the secret: a string (too short / wrong pattern), a number-looking string, a list.
const carrier = (s: string) => fc.constantFrom<unknown>(s, s.slice(0, 8), [s], { nested: s });

test('no message shows a secret value (property)', () => {
  const seed = Number(process.env['HYDRANT_TEST_SEED'] ?? Date.now() % 1_000_000);
  console.log(`secret property seed ${seed} (rerun with HYDRANT_TEST_SEED=${seed})`);
  fc.assert(
    fc.property(secretText, secretKey, fc.constantFrom('sources.pg', 'deliveries.out', 'lake'), fc.boolean(), fc.boolean(), (secret, key, where, viaEnv, inUrl) =>
      fc.assert(
        fc.property(carrier(secret), (value) => {
          const doc: Record<string, unknown> = {
            name: 'p',
            streams: { cdc: {} },
            sources: { pg: { type: 'test_source', stream: 'cdc', host: inUrl ? `postgres://u:${secret}@db/x` : 'db', port: 'not-a-port' } },
            deliveries: { out: { type: 'test_sink', stream: 'cdc' } },
            lake: { type: 's3', bucket: 'b' },
          };
          const [section, name] = where.split('.') as [string, string | undefined];
          const target = (name === undefined ? doc[section] : (doc[section] as Record<string, unknown>)[name]) as Record<string, unknown>;
          target[key] = viaEnv ? '${HYDRANT_SECRET_UNDER_TEST}' : value;
          // An env value goes where the schema wants a number, so it is reported too.
          if (viaEnv) (doc['sources'] as { pg: Record<string, unknown> }).pg['port'] = '${HYDRANT_SECRET_UNDER_TEST}';
          const r = validatePipelineText(stringify(doc), 'p.yaml', { env: { HYDRANT_SECRET_UNDER_TEST: secret }, registries: testRegistries });
          assert.equal(r.ok, false);
          const text = r.ok ? '' : formatConfigIssues(r.issues);
          assert.ok(!text.includes(secret) && !text.includes(secret.slice(0, 8)), `a message shows the secret:\n${text}`);
        }),
        { numRuns: 4, seed },
      ),
    ),
    { seed, numRuns: 60 },
  );
});
