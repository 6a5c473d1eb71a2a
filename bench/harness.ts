/**
 * Benchmark harness. Each benchmark is `bench/<name>.ts` exporting `bench: Benchmark`, listed
 * in `bench/index.ts`. A benchmark compares Hydrant against a physical limit or a peer
 * measured in the same run and reports the ratio. `npm run bench -- NAME [--n N]` runs one;
 * `test/bench/smoke.test.ts` runs every one with `smoke: true` (small N) so none can rot.
 */
export interface BenchRow {
  /** What was measured, e.g. `hydrant append` or `raw fsync append (limit)`. */
  readonly name: string;
  readonly value: number;
  /** e.g. `records/s`, `MiB`. */
  readonly unit: string;
  /** Free-form note (peak RSS, parameters). */
  readonly note?: string;
}

export interface BenchResult {
  readonly rows: readonly BenchRow[];
  /** Named ratios, e.g. `{ 'append vs raw': 0.83 }`, each with its goal when the issue sets one. */
  readonly ratios: ReadonlyArray<{ readonly name: string; readonly value: number; readonly goal?: number }>;
}

export interface Benchmark {
  readonly name: string;
  readonly summary: string;
  run(options: { readonly smoke: boolean; readonly n?: number; readonly workDir: string }): Promise<BenchResult>;
}

/** Renders a result as a plain-text table. */
export function formatResult(b: Benchmark, r: BenchResult): string {
  const w = Math.max(...r.rows.map((x) => x.name.length), ...r.ratios.map((x) => x.name.length), 10);
  const lines = [`## ${b.name}: ${b.summary}`];
  for (const row of r.rows) lines.push(`  ${row.name.padEnd(w)}  ${fmt(row.value).padStart(14)} ${row.unit}${row.note ? `  (${row.note})` : ''}`);
  for (const q of r.ratios) lines.push(`  ${q.name.padEnd(w)}  ${q.value.toFixed(2).padStart(14)} x${q.goal === undefined ? '' : `  (goal ${q.goal}x: ${q.value >= q.goal ? 'met' : 'NOT met'})`}`);
  return lines.join('\n');
}

function fmt(v: number): string {
  return v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(2);
}
