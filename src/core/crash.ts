/**
 * Named crash points for crash-safety tests. When `HYDRANT_CRASH_AT` names a point (optionally
 * `name:N` for the N-th time it is reached), the process writes `HYDRANT CRASH POINT <name>`
 * to stderr and kills itself with SIGKILL at that exact step. Tests assert the line appeared,
 * which proves the point was reached, then restart and check for loss and duplicates.
 * Costs one Map lookup when unset.
 */
import { writeSync } from 'node:fs';

const spec = process.env['HYDRANT_CRASH_AT'];
const [crashName, crashNth] = spec === undefined ? [undefined, 1] : [spec.split(':')[0], Number(spec.split(':')[1] ?? '1')];
let hits = 0;

/** Marks a named crash point; kills the process here when the environment selects it. */
export function crashPoint(name: string): void {
  if (crashName === undefined || crashName !== name) return;
  hits++;
  if (hits < crashNth) return;
  writeSync(2, `HYDRANT CRASH POINT ${name}\n`);
  process.kill(process.pid, 'SIGKILL');
}
