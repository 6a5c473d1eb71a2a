import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../../bin/hydrant.js', import.meta.url));
const fixture = (name: string): string => fileURLToPath(new URL(`../../config/fixtures/${name}`, import.meta.url));

function hydrant(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, HYDRANT_DEMO_DIR: '' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('hydrant validate prints OK and a summary for a valid file', () => {
  const r = hydrant('validate', fileURLToPath(new URL('../../../examples/demo.yaml', import.meta.url)));
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^OK: pipeline demo; 1 stream \(changes: 2 shards\); 1 source \(shop: generator -> changes via pii\); 1 transform \(pii: anonymize\)/);
});

test('hydrant validate prints every issue as file:line: path: message and exits 1', () => {
  const file = fixture('unknown-top-key.yaml');
  const r = hydrant('validate', file);
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.ok(r.stdout.includes(`${file}:3: strams: unknown key "strams"; did you mean "streams"?`), r.stdout);
  assert.match(r.stdout, /\d+ problems? found in /);
});

test('hydrant validate never prints a secret value', () => {
  const r = hydrant('validate', fixture('secret-not-echoed.yaml'));
  assert.equal(r.status, 1);
  for (const secret of ['hunter2', 'sk_live_', '98765']) assert.ok(!r.stdout.includes(secret) && !r.stderr.includes(secret), r.stdout);
});

test('hydrant validate without a file prints usage and exits 2', () => {
  const r = hydrant('validate');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /usage: hydrant validate FILE/);
});
