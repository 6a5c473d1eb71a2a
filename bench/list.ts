/** Every benchmark. Adding one: `bench/<name>.ts` exporting `bench`, and one line here. */
import type { Benchmark } from './harness.ts';
import { bench as stateCommit } from './state-commit.ts';
import { bench as log } from './log.ts';
import { bench as transforms } from './transforms.ts';
import { bench as lake } from './lake.ts';
import { bench as postgres } from './postgres.ts';
import { bench as merge } from './merge.ts';
import { bench as codec } from './codec.ts';
import { bench as pipeline } from './pipeline.ts';
import { bench as snapshot } from './snapshot.ts';
import { bench as currentStateRun } from './current-state-run.ts';

export const benchmarks: readonly Benchmark[] = [
  stateCommit,
  log,
  transforms,
  lake,
  postgres,
  merge,
  codec,
  pipeline,
  snapshot,
  currentStateRun,
];
