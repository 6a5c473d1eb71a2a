/**
 * `npm run bench -- lake`: N change records (default 1,000,000) through the lake delivery into
 * Parquet (zstd) in a local lake, beside DuckDB's appender + COPY TO writing the same rows to
 * Parquet (its fastest path from JS: data chunks), each in its own process (so each peak RSS is its own). Goal: ≥ 0.5x DuckDB's rate
 * with bounded memory.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
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
  summary: 'change records → Parquet (zstd) in the local lake vs DuckDB data chunks + COPY TO parquet',
  async run({ smoke, n, workDir }): Promise<BenchResult> {
    const count = n ?? (smoke ? 20_000 : 1_000_000);
    // The machine is shared: alternate the two sides and keep each one's best round.
    const rounds = smoke ? 1 : 3;
    let h: Side | undefined;
    let d: Side | undefined;
    for (let r = 0; r < rounds; r++) {
      const hr = side('hydrant', count, join(workDir, `hydrant-${r}`));
      const dr = side('duckdb', count, join(workDir, `duckdb-${r}`));
      if (h === undefined || hr.seconds < h.seconds) h = hr;
      if (d === undefined || dr.seconds < d.seconds) d = dr;
      rmSync(join(workDir, `hydrant-${r}`), { recursive: true, force: true });
      rmSync(join(workDir, `duckdb-${r}`), { recursive: true, force: true });
    }
    if (h === undefined || d === undefined) throw new Error('no rounds');
    const MiB = 1024 * 1024;
    return {
      rows: [
        { name: 'hydrant lake delivery → parquet', value: h.rows / h.seconds, unit: 'rows/s', note: `${count} rows, best of ${rounds}, peak RSS ${h.maxRssMiB.toFixed(0)} MiB, ${(h.bytes / MiB).toFixed(1)} MiB written` },
        { name: 'duckdb data chunks + COPY (peer)', value: d.rows / d.seconds, unit: 'rows/s', note: `peak RSS ${d.maxRssMiB.toFixed(0)} MiB, ${(d.bytes / MiB).toFixed(1)} MiB written` },
        { name: 'hydrant peak RSS', value: h.maxRssMiB, unit: 'MiB' },
      ],
      ratios: [{ name: 'hydrant vs duckdb rows/s', value: (h.rows / h.seconds) / (d.rows / d.seconds), goal: 0.5 }],
    };
  },
};
