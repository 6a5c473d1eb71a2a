/**
 * `hydrant demo [--dir DIR] [--count N]`: runs examples/demo.yaml (generator -> anonymize on
 * the source edge -> embedded stream log -> JSON-lines files and the Parquet lake, merged into
 * current-state tables) with no external services, until caught up, and prints what happened.
 * Without `HYDRANT_ANONYMIZE_KEY` it generates a throwaway anonymization key in the data dir
 * (never printed). Data goes to DIR (default `./.hydrant/demo`), which is wiped first when it holds
 * an earlier demo. To add a delivery to the demo, add it to examples/demo.yaml and, if it has
 * something to show, a line in {@link describeDeliveries}.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from '../command.ts';
import { createLogger, type LogLevel } from '../../core/logger.ts';
import type { PipelineRunner } from '../../runtime/pipeline-runner.ts';
import { loadRuntimeSpec } from '../../runtime/load-runtime-spec.ts';
import type { RuntimeSpec } from '../../runtime/runtime-spec.ts';
import { runWithSignals, UsageError } from './run.ts';
import { lakeSummary } from '../../lake/query/lake-summary.ts';
import { LakeQuery } from '../../lake/query/lake-query.ts';
import { renderResult } from '../../lake/query/render.ts';
import { openObjectStore } from '../../lake/lake-config.ts';
import { EmbeddedStateStore } from '../../state/embedded/embedded-state-store.ts';
import { silentLogger } from '../../core/logger.ts';
import type { TableMergeReport } from '../../lake/current/merge-job.ts';
import { mergeFailed } from '../../runtime/current-state-merger.ts';

/** The demo pipeline file shipped with Hydrant. */
export const DEMO_PIPELINE = fileURLToPath(new URL('../../../examples/demo.yaml', import.meta.url));
const MARKER = '.hydrant-demo';
/** The environment variable examples/demo.yaml reads its anonymization key from. */
const KEY_ENV = 'HYDRANT_ANONYMIZE_KEY';

function parseArgs(args: readonly string[]): { dir: string; count: number | undefined } {
  let dir = '.hydrant/demo';
  let count: number | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--dir' && args[i + 1] !== undefined) dir = args[++i] as string;
    else if (a === '--count' && args[i + 1] !== undefined) {
      count = Number(args[++i]);
      if (!Number.isInteger(count) || count < 1) throw new UsageError(`--count needs a positive integer, found ${JSON.stringify(args[i])}`);
    } else throw new UsageError(`unexpected argument ${JSON.stringify(a)}; usage: hydrant demo [--dir DIR] [--count N]`);
  }
  return { dir: resolve(dir), count };
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(() => true, () => false);
}

/** Files under `dir` (hidden ones left out), optionally only those `pick` accepts by path. */
async function countFiles(dir: string, pick: (path: string) => boolean = () => true): Promise<number> {
  if (!(await exists(dir))) return 0;
  let n = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    n += e.isDirectory() ? await countFiles(p, pick) : pick(p) ? 1 : 0;
  }
  return n;
}

function table(rows: ReadonlyArray<readonly string[]>): string {
  const w = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => '  ' + r.map((c, i) => (i === 0 ? c.padEnd(w[i] ?? 0) : c.padStart(w[i] ?? 0))).join('  ')).join('\n');
}

/** Lines describing where each delivery put its output. */
async function describeDeliveries(spec: RuntimeSpec): Promise<string[]> {
  const out: string[] = [];
  for (const [name, d] of Object.entries(spec.deliveries)) {
    if (d.type === 'file') {
      const cfg = d.config as { path?: string };
      const dir = cfg.path === undefined ? join(spec.dataDir, 'files', name) : resolve(spec.dataDir, cfg.path);
      out.push(`  ${name} (file): ${await countFiles(dir)} JSON-lines files under ${relative(process.cwd(), dir) || '.'}`);
    } else if (d.type === 'lake') {
      const lakeDir = spec.lake.type === 'fs' ? resolve(spec.dataDir, spec.lake.path) : undefined;
      // Current-state files sit beside the change objects (`<table>/current/`) but are not catalog entries.
      const current = (p: string): boolean => p.includes(`${sep}current${sep}`);
      const currentFiles = lakeDir === undefined ? 0 : await countFiles(lakeDir, current);
      out.push(`  ${name} (lake): ${lakeDir === undefined ? 'objects in the S3 lake' : `${await countFiles(lakeDir, (p) => !current(p))} objects under ${relative(process.cwd(), lakeDir) || '.'}`}, registered in the lake catalog${currentFiles === 0 ? '' : `; ${currentFiles} current-state files (Parquet and manifests) under <table>/current/`}`);
    } else {
      out.push(`  ${name} (${d.type})`);
    }
  }
  return out;
}

/**
 * Makes sure the demo's anonymization key is set: the user's, or a throwaway one written to
 * the data dir (mode 0600, wiped with the demo). Returns how to describe it and, for a
 * generated key, the file that holds it. The key itself is never printed.
 */
async function ensureDemoKey(dir: string): Promise<{ text: string; file?: string }> {
  if ((process.env[KEY_ENV] ?? '') !== '') return { text: `the key in ${KEY_ENV}` };
  const file = join(dir, 'anonymize.key');
  const key = randomBytes(32).toString('hex');
  await writeFile(file, key + '\n', { mode: 0o600 });
  process.env[KEY_ENV] = key;
  return { text: `a throwaway key generated for this demo in ${relative(process.cwd(), file)} (set ${KEY_ENV} to use yours)`, file };
}

/** One rule of an anonymize config, in words. */
function ruleText(r: { tables: readonly string[]; columns: readonly string[]; action: string; mode?: string; to?: string }): string {
  const cols = r.columns.length === 1 ? (r.columns[0] as string) : `{${r.columns.join(',')}}`;
  const what = r.action === 'pseudonymize' ? 'pseudonymized (keyed HMAC)'
    : r.action === 'mask' && r.mode === 'email_domain' ? 'masked (domain kept)'
    : r.action === 'generalize' ? `generalized to ${r.to ?? ''}`
    : r.action;
  return `${r.tables.join('|')}.${cols} ${what}`;
}

/** One line per source edge with anonymize transforms, naming their rules. */
function anonymizationLines(spec: RuntimeSpec): string[] {
  const out: string[] = [];
  for (const [name, s] of Object.entries(spec.sources)) {
    for (const t of s.transforms) {
      const c = spec.transforms[t];
      if (c?.type !== 'anonymize') continue;
      const rules = (c.config as { rules: Array<Parameters<typeof ruleText>[0]> }).rules;
      out.push(`Anonymized on the edge of source ${name} (transform ${t}), before anything is stored: ${rules.map(ruleText).join('; ')}.`);
    }
  }
  return out;
}

/** Prints records per table in (sources) and out (deliveries). */
function report(spec: RuntimeSpec, runner: PipelineRunner): string {
  const tables = ['customers', 'products', 'orders', 'order_items'];
  const head = ['table', ...Object.keys(spec.sources).map((s) => `in:${s}`), ...Object.keys(spec.deliveries).map((d) => `out:${d}`)];
  const rows = [head];
  for (const t of tables) {
    rows.push([t, ...Object.keys(spec.sources).map((s) => String(runner.metrics.get('hydrant_source_records_total', { source: s, table: t }))), ...Object.keys(spec.deliveries).map((d) => String(runner.metrics.get('hydrant_delivery_records_total', { delivery: d, table: t })))]);
  }
  return table(rows);
}

function quoted(table: string): string {
  return table.split('.').map((p) => `"${p.replace(/"/g, '""')}"`).join('.');
}

/**
 * Rows now (the current-state table, by its plain name) beside the changes captured (its
 * `_changes` history), queried with SQL after the run's final merge.
 */
async function currentStateLines(spec: RuntimeSpec, merged: readonly TableMergeReport[], commandPrefix: string): Promise<string[]> {
  const failed = merged.filter(mergeFailed).map((r) => `  ${r.table}: merge failed: ${r.problem ?? ''}`);
  const tables = merged.filter((r) => r.problem === undefined).map((r) => r.table).sort();
  if (tables.length === 0) return ['Current-state tables: none were merged.', ...failed];
  const sql = tables.map((t) => `SELECT '${t.replace(/'/g, "''")}' AS "table", (SELECT count(*) FROM ${quoted(t)}) AS "rows now", (SELECT count(*) FROM ${quoted(`${t}_changes`)}) AS changes`).join(' UNION ALL ') + ' ORDER BY 1';
  const state = await EmbeddedStateStore.open({ dataDir: spec.dataDir, logger: silentLogger });
  const store = openObjectStore(spec.lake, spec.dataDir);
  const q = new LakeQuery({ state, lake: store, cacheDir: join(spec.dataDir, 'query-cache') });
  try {
    const example = `SELECT count(*) FROM ${tables[0] as string}`;
    return [
      'Current-state tables (the changes merged, during the run, into each table as it is now):',
      ...renderResult(await q.run(sql), 'table').trimEnd().split('\n').map((l) => `  ${l}`),
      ...failed,
      `  e.g. ${commandPrefix}hydrant query ${relative(process.cwd(), DEMO_PIPELINE)} "${example}"`,
    ];
  } finally {
    await q.close();
    await store.close();
    await state.close();
  }
}

export const demoCommand: Command = {
  name: 'demo',
  summary: 'Run a self-contained demo pipeline (generator -> stream -> files and the Parquet lake) and query it.',
  usage: 'hydrant demo [--dir DIR] [--count N]',
  async run(args) {
    const { dir, count } = parseArgs(args);
    if (await exists(join(dir, MARKER))) await rm(dir, { recursive: true, force: true });
    else if (await exists(dir) && (await readdir(dir)).length > 0) throw new UsageError(`${dir} exists and is not an earlier demo; pass --dir with an empty or new directory`);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, MARKER), 'created by hydrant demo; the directory is wiped by the next demo\n');
    process.env['HYDRANT_DEMO_DIR'] = dir;
    let spec = await loadRuntimeSpec(DEMO_PIPELINE);
    const anonymized = anonymizationLines(spec);
    const key = anonymized.length > 0 ? await ensureDemoKey(dir) : undefined;
    if (count !== undefined) {
      spec = { ...spec, sources: Object.fromEntries(Object.entries(spec.sources).map(([n, s]) => [n, s.type === 'generator' ? { ...s, config: { ...(s.config as object), count } } : s])) };
    }
    process.stdout.write(`hydrant demo: running ${relative(process.cwd(), DEMO_PIPELINE)} with data in ${dir}\n`);
    if (key !== undefined) process.stdout.write(`${anonymized.join('\n')} Key: ${key.text}.\n`);
    const started = Date.now();
    const { summary, runner } = await runWithSignals(spec, {
      untilCaughtUp: true,
      // Keep the terminal readable: only warnings and errors unless HYDRANT_LOG_LEVEL says otherwise.
      logger: createLogger({ level: (process.env['HYDRANT_LOG_LEVEL'] as LogLevel | undefined) ?? 'warn', fields: { pipeline: spec.name } }),
    });
    const secs = (Date.now() - started) / 1000;
    process.stdout.write([
      '',
      `${summary.reason === 'caught-up' ? 'Caught up' : 'Stopped'} after ${secs.toFixed(1)} s. Records per table:`,
      report(spec, runner),
      '',
      'Output:',
      ...(await describeDeliveries(spec)),
      `  state store and stream log: ${join(dir, 'state')}, ${join(dir, 'streams')}`,
      '',
      `Run it again yourself: HYDRANT_DEMO_DIR=${dir}${key?.file === undefined ? '' : ` ${KEY_ENV}="$(cat ${key.file})"`} hydrant run ${relative(process.cwd(), DEMO_PIPELINE)} --until-caught-up`,
      '',
    ].join('\n'));
    if (Object.values(spec.deliveries).some((d) => d.type === 'lake')) {
      const lines = await lakeSummary({ dataDir: spec.dataDir, lake: spec.lake, pipelineFile: relative(process.cwd(), DEMO_PIPELINE), commandPrefix: `HYDRANT_DEMO_DIR=${dir} ` });
      process.stdout.write(lines.join('\n') + '\n\n');
    }
    if (summary.merged !== undefined) process.stdout.write((await currentStateLines(spec, summary.merged, `HYDRANT_DEMO_DIR=${dir} `)).join('\n') + '\n\n');
    return 0;
  },
};
