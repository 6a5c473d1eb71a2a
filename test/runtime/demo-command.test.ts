import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { ChangeEvent } from '../../src/core/change-event.ts';
import type { ComponentContext } from '../../src/core/component.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { Metrics } from '../../src/core/metrics.ts';
import { DEMO_PIPELINE } from '../../src/cli/commands/demo.ts';
import { loadRuntimeSpec } from '../../src/runtime/load-runtime-spec.ts';
import { MemoryStateStore } from '../../src/state/memory-state-store.ts';
import { transformKinds } from '../../src/transforms/registry.ts';
import { canonRows } from '../lake/current/compare.ts';
import { scanForLeaks } from '../transforms/anonymize/leak-scan-support.ts';
import { generatorEvents, readStoredTables, replayEvents } from './current-state-support.ts';

/** The generator's events through the demo's source-edge anonymize transform, with `key`. */
async function anonymizedEvents(events: ChangeEvent[], key: string): Promise<ChangeEvent[]> {
  const saved = process.env['HYDRANT_ANONYMIZE_KEY'];
  process.env['HYDRANT_ANONYMIZE_KEY'] = key;
  try {
    const spec = await loadRuntimeSpec(DEMO_PIPELINE);
    const pii = spec.transforms['pii'];
    assert.ok(pii !== undefined && spec.sources['shop']?.transforms.includes('pii'), 'the demo anonymizes on the source edge');
    const d = transformKinds.find((k) => k.kind === pii.type);
    assert.ok(d !== undefined);
    const t = await d.create(pii.config, { name: 'pii', pipeline: 'demo', dataDir: '/nonexistent', state: new MemoryStateStore(), logger: silentLogger, metrics: new Metrics() } as unknown as ComponentContext);
    const r = await t.apply(events.map((envelope, i) => ({ id: String(i), envelope, arrivalTime: 0 })));
    await t.close();
    assert.equal(r.failed.length, 0);
    return r.items.map((i) => i.envelope as ChangeEvent);
  } finally {
    if (saved === undefined) delete process.env['HYDRANT_ANONYMIZE_KEY'];
    else process.env['HYDRANT_ANONYMIZE_KEY'] = saved;
  }
}

const BIN = fileURLToPath(new URL('../../bin/hydrant.js', import.meta.url));

test('hydrant demo runs the example pipeline to completion, reports records in = out per table and the current-state tables beside their history', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hydrant-demo-'));
  try {
    const demoDir = join(dir, 'demo');
    const env: NodeJS.ProcessEnv = { ...process.env, HYDRANT_CRASH_AT: '' };
    delete env['HYDRANT_ANONYMIZE_KEY'];
    const run = () => spawnSync(process.execPath, [BIN, 'demo', '--dir', demoDir, '--count', '800'], { encoding: 'utf8', env });
    const rowsNow = new Map<string, number>();
    let last = { stdout: '', stderr: '' };
    for (let i = 0; i < 2; i++) {
      // Twice: the second run wipes the first demo's data and starts fresh.
      const r = run();
      assert.equal(r.status, 0, r.stderr);
      last = r;
      assert.match(r.stdout, /Caught up after/);
      // One line names the anonymization rules; the throwaway key is mentioned, never printed.
      assert.match(r.stdout, /^Anonymized on the edge of source shop \(transform pii\), before anything is stored: customers\.\{name,phone,address\} pseudonymized \(keyed HMAC\); customers\.email masked \(domain kept\); customers\.birth_date generalized to year\. Key: a throwaway key generated for this demo in \S*anonymize\.key/m);
      const key = (await readFile(join(demoDir, 'anonymize.key'), 'utf8')).trim();
      assert.ok(key.length >= 32);
      assert.ok(!r.stdout.includes(key) && !r.stderr.includes(key), 'the key is never printed');
      assert.equal((await stat(join(demoDir, 'anonymize.key'))).mode & 0o077, 0, 'the key file is private');
      let total = 0;
      for (const t of ['customers', 'products', 'orders', 'order_items']) {
        const m = new RegExp(`^\\s+${t}\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s*$`, 'm').exec(r.stdout);
        assert.ok(m !== null, `row for ${t} in:\n${r.stdout}`);
        assert.equal(m[1], m[2], `${t}: in = out (files)`);
        assert.equal(m[1], m[3], `${t}: in = out (lake)`);
        total += Number(m[1]);
        // The current-state table (merged inside the run) beside its history: every captured
        // change is in the history, and the table holds at least one row and at most one per change.
        const c = new RegExp(`^\\s+shop\\.public\\.${t}\\s+\\|\\s+(\\d+)\\s+\\|\\s+(\\d+)\\s*$`, 'm').exec(r.stdout);
        assert.ok(c !== null, `current-state row for ${t} in:\n${r.stdout}`);
        assert.equal(c[2], m[1], `${t}: changes in the history = records in`);
        assert.ok(Number(c[1]) > 0 && Number(c[1]) <= Number(c[2]), `${t}: 0 < rows now (${c[1]}) <= changes (${c[2]})`);
        rowsNow.set(t, Number(c[1]));
      }
      assert.match(r.stdout, /^Current-state tables \(/m);
      assert.match(r.stdout, /hydrant query examples\/demo\.yaml "SELECT count\(\*\) FROM shop\.public\.customers"/);
      assert.equal(total, 800);
      assert.match(r.stdout, /JSON-lines files under/);
      // The lake: Parquet objects, a SQL query over them, and the command to query again.
      assert.match(r.stdout, /lake \(lake\): \d+ objects under .*, registered in the lake catalog; \d+ current-state files/);
      assert.match(r.stdout, /shop\.public\.orders_changes\s+\| insert\s+\| \d+/);
      assert.match(r.stdout, /hydrant query examples\/demo\.yaml "SELECT/);
    }
    assert.ok((await readdir(join(demoDir, 'files'))).length > 0);
    // The rows printed and the tables stored equal an independent replay of the demo's
    // generator (seed 42 in examples/demo.yaml, 800 events).
    const stored = await readStoredTables(demoDir);
    const raw = generatorEvents(42, 800);
    const key = (await readFile(join(demoDir, 'anonymize.key'), 'utf8')).trim();
    const expected = replayEvents(await anonymizedEvents(raw, key), new Map([...stored].map(([t, s]) => [t, s.schema])));
    for (const [t, s] of stored) {
      assert.deepEqual(canonRows(s.rows, s.schema), expected.get(t), `${t}: current state equals the replay`);
      assert.equal(rowsNow.get(t), s.rows.length, `${t}: printed rows now`);
    }
    // No original customer name or email reaches anything the demo stored or printed: the
    // stream log, state store, JSON-lines files, the lake's Parquet (decoded) and query cache.
    const needles = new Set<string>();
    for (const e of raw) {
      if (e.source.table !== 'customers') continue;
      for (const row of [e.before, e.after]) {
        for (const c of ['name', 'email']) {
          const v = row?.[c];
          if (typeof v === 'string' && v.length >= 6) needles.add(v);
        }
      }
    }
    assert.ok(needles.size > 100, `customer names and emails to look for (${needles.size})`);
    const scan = await scanForLeaks([demoDir], { stdout: last.stdout, stderr: last.stderr }, [...needles]);
    assert.deepEqual(scan.leaks.slice(0, 5), [], `originals found in ${scan.leaks.length} places`);
    assert.ok(scan.files > 20, `scanned ${scan.files} files`);
    console.log(`# leak scan: ${needles.size} names and emails, ${scan.files} files, ${scan.bytes} bytes: none found`);
    // A directory that is not an earlier demo is left alone.
    await writeFile(join(dir, 'keep.txt'), 'x');
    const refused = spawnSync(process.execPath, [BIN, 'demo', '--dir', dir], { encoding: 'utf8' });
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /is not an earlier demo/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
