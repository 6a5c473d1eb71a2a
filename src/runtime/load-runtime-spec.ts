/**
 * Reads a pipeline file into a {@link RuntimeSpec}: `loadPipeline` (src/config/) validates it
 * (every problem at once, with file, line and key path) and its result is a RuntimeSpec.
 */
import { loadPipeline } from '../config/load-pipeline.ts';
import type { RuntimeSpec } from './runtime-spec.ts';

/** Loads and validates a pipeline file; `data_dir` is relative to the file's directory. */
export async function loadRuntimeSpec(file: string): Promise<RuntimeSpec> {
  const spec = await loadPipeline(file);
  return spec satisfies RuntimeSpec;
}
