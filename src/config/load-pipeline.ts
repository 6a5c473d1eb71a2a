/** Reads and validates a pipeline file. */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ConfigError } from '../core/errors.ts';
import type { PipelineSpec } from './pipeline-spec.ts';
import { validatePipelineText } from './validate-pipeline.ts';
import type { ValidateOptions } from './validate-pipeline.ts';

/**
 * Loads a pipeline file. Throws a {@link ConfigError} listing every problem (with file, line
 * and key path) when it is invalid, or when it cannot be read.
 */
export async function loadPipeline(file: string, options: ValidateOptions = {}): Promise<PipelineSpec> {
  const path = resolve(file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError([{ file, line: undefined, path: '', message: `cannot read the pipeline file (${code === 'ENOENT' ? 'it does not exist' : code ?? String(err)}); check the path` }]);
  }
  const result = validatePipelineText(text, file, options);
  if (!result.ok) throw new ConfigError(result.issues);
  return result.spec;
}
