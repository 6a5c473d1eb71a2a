/**
 * Reads a pipeline file into a {@link RuntimeSpec}.
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse } from 'yaml';
import { substituteEnv } from '../config/env.ts';
import { ConfigError } from '../core/errors.ts';
import { runtimeSpecFromPlain, type PlainPipeline } from './build.ts';
import type { RuntimeSpec } from './runtime-spec.ts';

function substitute(v: unknown, path: string, file: string, missing: string[]): unknown {
  if (typeof v === 'string') {
    const r = substituteEnv(v, process.env);
    if (!r.ok) {
      missing.push(`${path}: ${r.malformed ? 'malformed ${...} reference' : `environment variable ${r.missing.join(', ')} is not set (use \${NAME:-default} for a default)`}`);
      return v;
    }
    return r.value;
  }
  if (Array.isArray(v)) return v.map((x, i) => substitute(x, `${path}.${i}`, file, missing));
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, substitute(x, path === '' ? k : `${path}.${k}`, file, missing)]));
  return v;
}

/** Loads and validates a pipeline file; `data_dir` is relative to the file's directory. */
export async function loadRuntimeSpec(file: string): Promise<RuntimeSpec> {
  const text = await readFile(file, 'utf8');
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new ConfigError([{ file, line: undefined, path: '', message: `not valid YAML: ${(err as Error).message}` }]);
  }
  const missing: string[] = [];
  const plain = substitute(doc, '', file, missing) as Record<string, unknown>;
  if (missing.length > 0) throw new ConfigError(missing.map((m) => ({ file, line: undefined, path: m.split(':')[0] as string, message: m.slice(m.indexOf(':') + 2) })));
  const dataDir = typeof plain['data_dir'] === 'string' ? plain['data_dir'] : '.hydrant';
  const abs = isAbsolute(dataDir) ? dataDir : resolve(dirname(resolve(file)), dataDir);
  return runtimeSpecFromPlain({ ...(plain as unknown as PlainPipeline), name: typeof plain['name'] === 'string' ? plain['name'] : 'pipeline' }, abs);
}
