// `npm ci` refuses a lock file that lacks an entry for any optional dependency, even one for
// another platform. The npm registry reachable here does not serve @duckdb/node-bindings for
// other platforms (darwin, win32, linux-arm64), so a plain `npm install` here drops their
// entries and CI's `npm ci` then fails before running a single test. Their entries were added
// by hand (version, os, cpu, optional; npm skips them on linux-x64 without fetching). This test
// catches a lock file regenerated without them. If it fails: restore those entries (see
// docs/development.md) — do not switch CI to `npm install`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

interface LockPackage {
  readonly optionalDependencies?: Readonly<Record<string, string>>;
}

test('every optional dependency in package-lock.json has its own entry (npm ci needs it)', () => {
  const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as { packages: Record<string, LockPackage> };
  const missing: string[] = [];
  for (const [path, pkg] of Object.entries(lock.packages)) {
    for (const dep of Object.keys(pkg.optionalDependencies ?? {})) {
      const nested = `${path === '' ? '' : `${path}/`}node_modules/${dep}`;
      if (!(nested in lock.packages) && !(`node_modules/${dep}` in lock.packages)) missing.push(`${dep} (wanted by ${path || 'the root'})`);
    }
  }
  assert.deepEqual(missing, [], `package-lock.json lacks entries that npm ci requires:\n${missing.join('\n')}`);
});
