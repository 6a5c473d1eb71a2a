/**
 * Validates pipeline text: YAML syntax, environment references, the file's own sections, each
 * component's config against its kind's descriptor, and the names components use to refer to
 * streams and transforms. Every problem is collected; nothing stops at the first one.
 */
import { dirname, resolve } from 'node:path';
import type { z } from 'zod';
import type { ComponentDescriptor } from '../core/component.ts';
import type { ConfigIssue } from '../core/errors.ts';
import { deliveryKinds } from '../delivery/registry.ts';
import { sourceKinds } from '../sources/registry.ts';
import { transformKinds } from '../transforms/registry.ts';
import { didYouMean, toConfigIssues } from './issues.ts';
import { deliveryEdgeSchema, pipelineFileSchema, sourceEdgeSchema, transformEdgeSchema } from './pipeline-schema.ts';
import type { ComponentRegistries, DeliverySpec, PipelineSpec, SourceSpec, StreamSpec, TransformSpec } from './pipeline-spec.ts';
import { formatPath, readYaml } from './yaml-document.ts';
import type { ConfigPath, YamlDocument } from './yaml-document.ts';

/** The registries of src/{sources,transforms,delivery}/registry.ts. */
export const defaultRegistries: ComponentRegistries = { sources: sourceKinds, transforms: transformKinds, deliveries: deliveryKinds };

/** Options of {@link validatePipelineText}. */
export interface ValidateOptions {
  /** Variables for `${NAME}` references (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Where component kinds are looked up (default: the registries). */
  readonly registries?: ComponentRegistries;
}

/** Either the spec, or every problem found. */
export type ValidationResult = { readonly ok: true; readonly spec: PipelineSpec } | { readonly ok: false; readonly issues: readonly ConfigIssue[] };

type Section = 'sources' | 'transforms' | 'deliveries';
const KIND_WORD: Readonly<Record<Section, string>> = { sources: 'source', transforms: 'transform', deliveries: 'delivery' };

/** Validates pipeline YAML `text`; `file` names it in issues and anchors relative paths. */
export function validatePipelineText(text: string, file: string, options: ValidateOptions = {}): ValidationResult {
  const registries = options.registries ?? defaultRegistries;
  const doc = readYaml(text, file, options.env ?? process.env);
  const issues = [...doc.issues];
  if (doc.fatal) return { ok: false, issues: sortIssues(issues) };
  if (doc.data === undefined || doc.data === null) {
    issues.push({ file, line: 1, path: '', message: 'the file is empty; expected a mapping with name, lake, streams, sources and deliveries' });
    return { ok: false, issues };
  }

  // `x-` keys hold YAML anchors to reuse (`x-defaults: &defaults`), as in Compose files.
  const data = isPlainObject(doc.data) ? Object.fromEntries(Object.entries(doc.data).filter(([k]) => !k.startsWith('x-'))) : doc.data;
  const top = pipelineFileSchema.safeParse(data);
  if (!top.success) issues.push(...toConfigIssues(top.error.issues, { file, doc, base: [], data, schema: pipelineFileSchema }));
  const raw = (isPlainObject(data) ? data : {}) as Record<string, unknown>;

  const components = {
    sources: checkSection('sources', raw['sources'], registries.sources, sourceEdgeSchema, file, doc, issues),
    transforms: checkSection('transforms', raw['transforms'], registries.transforms, transformEdgeSchema, file, doc, issues),
    deliveries: checkSection('deliveries', raw['deliveries'], registries.deliveries, deliveryEdgeSchema, file, doc, issues),
  };

  const streamNames = isPlainObject(raw['streams']) ? Object.keys(raw['streams']) : [];
  const transformNames = Object.keys(components.transforms);
  for (const section of ['sources', 'deliveries'] as const) {
    for (const [name, c] of Object.entries(components[section])) {
      const edge = c.edge as { stream?: unknown; transforms?: unknown };
      if (typeof edge.stream === 'string' && !streamNames.includes(edge.stream)) {
        issues.push(refIssue(file, doc, [section, name, 'stream'], 'stream', edge.stream, streamNames, 'streams'));
      }
      if (Array.isArray(edge.transforms)) {
        edge.transforms.forEach((t: unknown, i: number) => {
          if (typeof t === 'string' && !transformNames.includes(t)) issues.push(refIssue(file, doc, [section, name, 'transforms', i], 'transform', t, transformNames, 'transforms'));
        });
      }
    }
  }

  if (issues.length > 0 || !top.success) return { ok: false, issues: sortIssues(issues) };
  // No issues, so every component has its descriptor and parsed config.
  const described = <T>(c: Checked<T>): ComponentDescriptor<any, T> => c.descriptor as ComponentDescriptor<any, T>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const p = top.data;
  const spec: PipelineSpec = {
    file: resolve(file),
    name: p.name,
    dataDir: resolve(dirname(file), p.data_dir),
    lake: p.lake,
    state: p.state,
    currentState: p.current_state,
    streams: Object.fromEntries(Object.entries(p.streams).map(([name, s]) => [name, { name, ...s } satisfies StreamSpec])),
    sources: Object.fromEntries(Object.entries(components.sources).map(([name, c]) => [name, { name, type: c.type, descriptor: described(c), config: c.config, stream: c.edge['stream'] as string, transforms: c.edge['transforms'] as string[] } satisfies SourceSpec])),
    transforms: Object.fromEntries(Object.entries(components.transforms).map(([name, c]) => [name, { name, type: c.type, descriptor: described(c), config: c.config } satisfies TransformSpec])),
    deliveries: Object.fromEntries(Object.entries(components.deliveries).map(([name, c]) => [name, { name, type: c.type, descriptor: described(c), config: c.config, stream: c.edge['stream'] as string, transforms: c.edge['transforms'] as string[] } satisfies DeliverySpec])),
  };
  return { ok: true, spec };
}

interface Checked<T> {
  readonly type: string;
  /** undefined when the kind is missing or unknown (then an issue was recorded). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly descriptor: ComponentDescriptor<any, T> | undefined;
  readonly config: unknown;
  readonly edge: Record<string, unknown>;
}

/** Validates each entry of a component section; returns the entries that passed (for cross-checks, edges of all). */
function checkSection<T>(
  section: Section,
  value: unknown,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  kinds: ReadonlyArray<ComponentDescriptor<any, T>>,
  edgeSchema: z.ZodObject,
  file: string,
  doc: YamlDocument,
  issues: ConfigIssue[],
): Record<string, Checked<T>> {
  const out: Record<string, Checked<T>> = {};
  if (!isPlainObject(value)) return out;
  const edgeKeys = Object.keys(edgeSchema.shape);
  const known = kinds.map((k) => k.kind);
  for (const [name, entry] of Object.entries(value)) {
    if (!isPlainObject(entry)) continue; // reported by the file schema
    const base: ConfigPath = [section, name];
    const edgeIn = Object.fromEntries(Object.entries(entry).filter(([k]) => edgeKeys.includes(k)));
    const rest = Object.fromEntries(Object.entries(entry).filter(([k]) => !edgeKeys.includes(k)));
    const edge = edgeSchema.safeParse(edgeIn);
    const edgeData = edge.success ? (edge.data as Record<string, unknown>) : edgeIn;
    if (!edge.success) {
      for (const i of toConfigIssues(edge.error.issues, { file, doc, base, data: edgeIn, schema: edgeSchema })) {
        issues.push(i.path === formatPath([...base, 'type']) && entry['type'] === undefined ? { ...i, message: `missing required key (expected a ${KIND_WORD[section]} kind: ${known.join(', ') || 'none are registered'})` } : i);
      }
    }
    const type = entry['type'];
    if (typeof type !== 'string') {
      out[name] = { type: '', descriptor: undefined, config: undefined, edge: edgeData };
      continue;
    }
    const descriptor = kinds.find((k) => k.kind === type);
    if (descriptor === undefined) {
      const guess = didYouMean(type, known);
      issues.push({ file, line: doc.lineOf([...base, 'type']), path: formatPath([...base, 'type']), message: `unknown ${KIND_WORD[section]} type ${JSON.stringify(type)}${guess === undefined ? '' : `; did you mean ${JSON.stringify(guess)}?`} (known ${section}: ${known.join(', ') || 'none are registered'})` });
      out[name] = { type, descriptor: undefined, config: undefined, edge: edgeData };
      continue;
    }
    const parsed = (descriptor.config as z.ZodType).safeParse(rest);
    if (!parsed.success) issues.push(...toConfigIssues(parsed.error.issues, { file, doc, base, data: rest, schema: descriptor.config as z.ZodType, extraKeys: edgeKeys }));
    out[name] = { type, descriptor, config: parsed.success ? parsed.data : undefined, edge: edgeData };
  }
  return out;
}

function refIssue(file: string, doc: YamlDocument, path: ConfigPath, what: string, name: string, defined: readonly string[], section: string): ConfigIssue {
  const guess = didYouMean(name, defined);
  const tail = defined.length === 0 ? `no ${section} are defined; add ${JSON.stringify(name)} under \`${section}:\`` : `defined ${section}: ${defined.join(', ')}`;
  return { file, line: doc.lineOf(path), path: formatPath(path), message: `unknown ${what} ${JSON.stringify(name)}${guess === undefined ? '' : `; did you mean ${JSON.stringify(guess)}?`} (${tail})` };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function sortIssues(issues: readonly ConfigIssue[]): ConfigIssue[] {
  return [...issues].sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
