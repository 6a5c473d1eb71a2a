/**
 * What the admin commands (`check`, `drop-slot`, `resnapshot`) do first: load the pipeline file,
 * report its problems the way `validate` does, and pick its PostgreSQL sources.
 */
import { loadPipeline } from '../config/load-pipeline.ts';
import type { PipelineSpec } from '../config/pipeline-spec.ts';
import { ConfigError, formatConfigIssues } from '../core/errors.ts';
import type { PostgresConfig } from '../sources/postgres/config.ts';

/**
 * Loads `file`; on configuration problems writes them to stdout and resolves to `undefined`
 * (the command then exits 1). Other errors propagate.
 */
export async function loadPipelineOrReport(file: string): Promise<PipelineSpec | undefined> {
  try {
    return await loadPipeline(file);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stdout.write(`${formatConfigIssues(err.issues)}\n`);
    return undefined;
  }
}

/**
 * Loads `file` and picks its PostgreSQL sources as `[name, config]` (only the one named `only`
 * when given). Resolves to `undefined` after saying what is wrong (configuration problems on
 * stdout, no such source on stderr): the command then exits 1.
 */
export async function loadPostgresTargets(file: string, only: string | undefined): Promise<Array<[string, PostgresConfig]> | undefined> {
  const spec = await loadPipelineOrReport(file);
  if (spec === undefined) return undefined;
  const targets = Object.entries(spec.sources)
    .filter(([name, s]) => s.type === 'postgres' && (only === undefined || name === only))
    .map(([name, s]): [string, PostgresConfig] => [name, s.config as PostgresConfig]);
  if (targets.length === 0) {
    process.stderr.write(only === undefined ? `${file} has no postgres source\n` : `${file} has no postgres source named ${only}\n`);
    return undefined;
  }
  return targets;
}
