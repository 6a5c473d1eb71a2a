/**
 * `npm run bench -- lake`: N change records (default 1,000,000) through the lake delivery into
 * Parquet (zstd) in a local lake, beside DuckDB's appender + COPY TO writing the same rows to
 * Parquet, each in its own process (so each peak RSS is its own). Goal: ≥ 0.5x DuckDB's rate
 * with bounded memory.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { Benchmark, BenchResult } from './harness.ts';

interface Side {
  readonly rows: number;
  readonly seconds: number;
  readonly maxRssMiB: number;
  readonly bytes: number;
}

function side(mode: 'hydrant' | 'duckdb', n: number, dir: string): Side {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'lake-worker.ts'), mode, String(n), dir], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`lake bench ${mode} worker failed (${r.status ?? r.signal}): ${r.stderr.slice(-2000)}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1) as string) as Side;
}

export const bench: Benchmark = {
  name: 'lake',
  summary: 'change records → Parquet (zstd) in the local lake vs DuckDB appender + COPY TO parquet',
  async run({ smoke, n, workDir }): Promise<BenchResult> {
    const count = n ?? (smoke ? 20_000 : 1_000_000);
    const h = side('hydrant', count, join(workDir, 'hydrant'));
    const d = side('duckdb', count, join(workDir, 'duckdb'));
    const MiB = 1024 * 1024;
    return {
      rows: [
        { name: 'hydrant lake delivery → parquet', value: h.rows / h.seconds, unit: 'rows/s', note: `${count} rows, peak RSS ${h.maxRssMiB.toFixed(0)} MiB, ${(h.bytes / MiB).toFixed(1)} MiB written` },
        { name: 'duckdb appender + COPY (peer)', value: d.rows / d.seconds, unit: 'rows/s', note: `peak RSS ${d.maxRssMiB.toFixed(0)} MiB, ${(d.bytes / MiB).toFixed(1)} MiB written` },
        { name: 'hydrant peak RSS', value: h.maxRssMiB, unit: 'MiB' },
      ],
      ratios: [{ name: 'hydrant vs duckdb rows/s', value: (h.rows / h.seconds) / (d.rows / d.seconds), goal: 0.5 }],
    };
  },
};
