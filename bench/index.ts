/** `npm run bench -- [NAME ...] [--n N]`: runs the named benchmarks (all when none named). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatResult, type Benchmark } from './harness.ts';
import { benchmarks } from './list.ts';

const args = process.argv.slice(2);
const nIdx = args.indexOf('--n');
const n = nIdx >= 0 ? Number(args[nIdx + 1]) : undefined;
const names = args.filter((a, i) => !a.startsWith('--') && (nIdx < 0 || i !== nIdx + 1));
const chosen: Benchmark[] = names.length === 0 ? [...benchmarks] : names.map((name) => {
  const b = benchmarks.find((x) => x.name === name);
  if (b === undefined) throw new Error(`unknown benchmark ${name}; known: ${benchmarks.map((x) => x.name).join(', ')}`);
  return b;
});
console.log(`machine: ${process.platform} ${process.arch}, node ${process.version}, ${(await import('node:os')).cpus().length} cores, ${new Date().toISOString()}`);
for (const b of chosen) {
  const workDir = mkdtempSync(join(process.env['HYDRANT_BENCH_DIR'] ?? tmpdir(), `hydrant-bench-${b.name}-`));
  try {
    const r = await b.run({ smoke: false, ...(n === undefined ? {} : { n }), workDir });
    console.log(formatResult(b, r));
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}
