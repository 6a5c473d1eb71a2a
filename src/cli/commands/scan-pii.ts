/**
 * `hydrant scan-pii FILE`: samples each source of a pipeline and lists the columns that look
 * like personal data, with the anonymize rule it suggests, then prints a config to start from.
 * Nothing is acknowledged to the source and no state is written (an in-memory state store is
 * used); PostgreSQL sources are sampled with read-only SELECTs instead (no slot). Only column
 * names and kinds are printed, never sampled values.
 */
import { tableId, type TableSchema } from '../../core/schema.ts';
import type { ComponentContext } from '../../core/component.ts';
import { HydrantError } from '../../core/errors.ts';
import { createLogger } from '../../core/logger.ts';
import { Metrics } from '../../core/metrics.ts';
import type { Row } from '../../core/values.ts';
import { loadRuntimeSpec } from '../../runtime/load-runtime-spec.ts';
import { sourceKinds } from '../../sources/registry.ts';
import type { Source } from '../../sources/source.ts';
import { MemoryStateStore } from '../../state/memory-state-store.ts';
import { detectPii, suggestConfigYaml, type PiiFinding, type TableSample } from '../../transforms/anonymize/pii-detect.ts';
import type { AnonymizeConfig } from '../../transforms/anonymize/config.ts';
import { compileGlobs, compileTablePatterns } from '../../transforms/common/patterns.ts';
import type { RuntimeSpec } from '../../runtime/runtime-spec.ts';
import { samplePostgres } from '../../transforms/anonymize/postgres-sample.ts';
import type { Command } from '../command.ts';

/** Options of {@link samplePipelineSources}. */
export interface SampleOptions {
  /** Rows kept per table. */
  readonly rowsPerTable: number;
  /** Events read per source at most. */
  readonly maxEvents: number;
  /** Stop reading a source after this long. */
  readonly timeoutMs: number;
  /** Only this source, when given. */
  readonly source?: string;
}

function unavailable(what: string): never {
  return new Proxy({}, { get: () => { throw new HydrantError('SCAN_UNSUPPORTED', `scan-pii: a source used the ${what}, which sampling does not provide`); } }) as never;
}

/** Reads samples from the sources of a pipeline file without acknowledging anything. */
export async function samplePipelineSources(file: string, o: SampleOptions): Promise<TableSample[]> {
  const spec = await loadRuntimeSpec(file);
  const samples = new Map<string, { schema: TableSchema | undefined; rows: Row[]; ref: { source: string; database: string; schema: string; table: string } }>();
  const names = Object.keys(spec.sources).filter((n) => o.source === undefined || n === o.source);
  if (names.length === 0) throw new HydrantError('NOT_FOUND', `scan-pii: ${o.source === undefined ? 'the pipeline has no sources' : `no source named ${JSON.stringify(o.source)} in ${file}`}`);
  for (const name of names) {
    const s = spec.sources[name];
    const d = sourceKinds.find((k) => k.kind === s?.type);
    if (s === undefined || d === undefined) continue;
    if (s.type === 'postgres') {
      // Existing rows, read-only: the source itself streams only later changes and would create a slot.
      for (const t of await samplePostgres(name, s.config, o.rowsPerTable)) samples.set(tableId(t.schema), { schema: t.schema, rows: [...t.rows], ref: t.schema });
      continue;
    }
    const ctx: ComponentContext = {
      name,
      pipeline: spec.name,
      dataDir: spec.dataDir,
      state: new MemoryStateStore(),
      log: unavailable('stream log'),
      lake: unavailable('lake'),
      logger: createLogger({ level: 'warn' }).child({ component: name }),
      metrics: new Metrics(),
    };
    const source: Source = await d.create(s.config, ctx);
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), o.timeoutMs);
    try {
      await source.start(null);
      let events = 0;
      while (!ac.signal.aborted && events < o.maxEvents) {
        const batch = await source.next(ac.signal);
        for (const t of batch.schemas ?? []) {
          const k = tableId(t);
          const cur = samples.get(k);
          if (cur === undefined) samples.set(k, { schema: t, rows: [], ref: t });
          else cur.schema = t;
        }
        for (const e of batch.events) {
          events++;
          if (e.op === 'event') continue;
          const row = e.after ?? e.before;
          if (row === null) continue;
          const ref = { source: e.source.name, database: e.source.database, schema: e.source.schema, table: e.source.table };
          const k = tableId(ref);
          let cur = samples.get(k);
          if (cur === undefined) samples.set(k, (cur = { schema: undefined, rows: [], ref }));
          if (cur.rows.length < o.rowsPerTable) cur.rows.push(row);
        }
        if (batch.caughtUp) break;
        if ([...samples.values()].length > 0 && [...samples.values()].every((x) => x.rows.length >= o.rowsPerTable)) break;
      }
    } finally {
      clearTimeout(timer);
      await source.close();
    }
  }
  return [...samples.values()].map(({ schema, rows, ref }) => ({
    // A table seen without a schema: its columns come from the sampled rows.
    schema: schema ?? { ...ref, version: 0, columns: [...new Set(rows.flatMap((r) => Object.keys(r)))].map((n) => ({ name: n, type: { kind: 'unknown' }, nullable: true })), primaryKey: [] },
    rows,
  }));
}

/**
 * The anonymize rule of the finding's source edge that already handles its column, as
 * `transform.rules[i]: action`, or undefined when none does.
 */
export function coveringRule(spec: RuntimeSpec, f: PiiFinding): string | undefined {
  for (const name of spec.sources[f.source]?.transforms ?? []) {
    const t = spec.transforms[name];
    if (t?.type !== 'anonymize') continue;
    const rules = (t.config as AnonymizeConfig).rules;
    const i = rules.findIndex((r) => compileTablePatterns(r.tables)(f) && compileGlobs(r.columns)(f.column));
    if (i >= 0) {
      const r = rules[i] as AnonymizeConfig['rules'][number];
      const weak = weakness(r, f);
      return `${name}.rules[${i}]: ${r.action}${weak === undefined ? '' : ` (weak: ${weak})`}`;
    }
  }
  return undefined;
}

/** Why a rule that handles a finding still leaves something to worry about, if it does. */
function weakness(r: AnonymizeConfig['rules'][number], f: PiiFinding): string | undefined {
  if (r.action === 'hash') return 'unkeyed SHA-256, guessable values can be recovered by hashing candidates; use pseudonymize';
  if (r.action === 'mask' && r.mode === 'email_domain') return 'the email domain is kept';
  if ((r.action === 'random' || r.action === 'redact') && f.kind === 'person_key') return 'joins on this column break; use pseudonymize';
  return undefined;
}

function option(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i < 0 ? undefined : args[i + 1];
}

export const scanPiiCommand: Command = {
  name: 'scan-pii',
  summary: 'sample the sources and list columns that look like personal data, with the anonymize rule to use',
  usage: 'hydrant scan-pii FILE [--sample ROWS] [--source NAME]',
  async run(args) {
    const file = args[0];
    const sample = Number(option(args, '--sample') ?? '1000');
    if (file === undefined || file.startsWith('-') || !Number.isInteger(sample) || sample < 1) {
      process.stderr.write(`usage: ${this.usage}\n`);
      return 2;
    }
    const source = option(args, '--source');
    const samples = await samplePipelineSources(file, { rowsPerTable: sample, maxEvents: sample * 50, timeoutMs: 60_000, ...(source === undefined ? {} : { source }) });
    const findings = detectPii(samples);
    const rows = samples.map((s) => `${s.schema.schema}.${s.schema.table}: ${s.rows.length} rows sampled`);
    process.stdout.write(`scanned ${samples.length} table(s): ${rows.join(', ') || 'none'}\n\n`);
    if (findings.length === 0) {
      process.stdout.write('no column looks like personal data (names, emails, phones, addresses, birth dates, IPs, card numbers); review the schema yourself before relying on this\n');
      return 0;
    }
    const spec = await loadRuntimeSpec(file);
    const w = Math.max(...findings.map((f) => `${f.source}.${f.schema}.${f.table}.${f.column}`.length));
    const open: PiiFinding[] = [];
    for (const f of findings) {
      const rule = Object.entries(f.rule).map(([k, v]) => `${k}: ${String(v)}`).join(', ');
      const covered = coveringRule(spec, f);
      if (covered === undefined) open.push(f);
      process.stdout.write(`${`${f.source}.${f.schema}.${f.table}.${f.column}`.padEnd(w)}  ${f.kind.padEnd(11)}  ${rule.padEnd(36)}  ${covered === undefined ? 'NOT ANONYMIZED' : `covered by ${covered}`}  (${f.evidence})\n`);
    }
    if (open.length === 0) {
      process.stdout.write(`\nEvery column found is handled by an anonymize rule on its source edge (detection is heuristic: review the rest of the schema too).\n`);
      return 0;
    }
    process.stdout.write(`\n${open.length} column(s) are not anonymized. A starting point (review it: detection is heuristic). Put the transform first on each source edge, e.g. \`transforms: [anonymize]\`:\n\ntransforms:\n${suggestConfigYaml(open)}\n`);
    return 0;
  },
};
