/**
 * Builds a pipeline's components through the registries (src/sources/registry.ts, ...): one
 * descriptor lookup per entry, then its factory with the shared context.
 */
import type { ComponentContext, ComponentDescriptor } from '../core/component.ts';
import { ConfigError, type ConfigIssue } from '../core/errors.ts';
import type { Delivery } from '../delivery/delivery.ts';
import { deliveryKinds } from '../delivery/registry.ts';
import { lakeConfigSchema } from '../lake/lake-config.ts';
import { currentStateConfigSchema } from './current-state-config.ts';
import type { Source } from '../sources/source.ts';
import { sourceKinds } from '../sources/registry.ts';
import type { Transform } from '../transforms/transform.ts';
import { transformKinds } from '../transforms/registry.ts';
import type { ComponentSpec, EdgeComponentSpec, RuntimeSpec } from './runtime-spec.ts';

/** The built components, by name. */
export interface BuiltPipeline {
  readonly sources: Map<string, Source>;
  readonly transforms: Map<string, Transform>;
  readonly deliveries: Map<string, Delivery>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDescriptor<T> = ComponentDescriptor<any, T>;

function find<T>(list: ReadonlyArray<AnyDescriptor<T>>, c: ComponentSpec, what: string, path: string, file: string): AnyDescriptor<T> {
  if (c.descriptor !== undefined) return c.descriptor as AnyDescriptor<T>;
  const kind = c.type;
  const d = list.find((x) => x.kind === kind);
  if (d === undefined) throw new ConfigError([{ file, line: undefined, path, message: `unknown ${what} type ${JSON.stringify(kind)}; known: ${list.map((x) => x.kind).join(', ') || '(none)'}` }]);
  return d;
}

/** What kind of component a context is for. */
export type ComponentRole = 'source' | 'transform' | 'delivery';

/** Creates every component of `spec`. `ctxFor(name, role)` gives each its context. */
export async function buildComponents(spec: RuntimeSpec, ctxFor: (name: string, role: ComponentRole) => ComponentContext): Promise<BuiltPipeline> {
  const out: BuiltPipeline = { sources: new Map(), transforms: new Map(), deliveries: new Map() };
  for (const [name, t] of Object.entries(spec.transforms)) out.transforms.set(name, await find(transformKinds, t, 'transform', `transforms.${name}.type`, spec.name).create(t.config, ctxFor(name, 'transform')));
  for (const [name, s] of Object.entries(spec.sources)) out.sources.set(name, await find(sourceKinds, s, 'source', `sources.${name}.type`, spec.name).create(s.config, ctxFor(name, 'source')));
  for (const [name, d] of Object.entries(spec.deliveries)) out.deliveries.set(name, await find(deliveryKinds, d, 'delivery', `deliveries.${name}.type`, spec.name).create(d.config, ctxFor(name, 'delivery')));
  return out;
}

/** A pipeline written as a plain object in the file format (`type`, `stream`, `transforms` + config keys). */
export interface PlainPipeline {
  readonly name: string;
  readonly lake?: unknown;
  /** The `current_state` section (merging inside the run); off when absent. */
  readonly current_state?: unknown;
  readonly streams: Readonly<Record<string, { readonly shards?: number }>>;
  readonly sources?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly transforms?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly deliveries?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
}

/**
 * Validates a plain pipeline object against the descriptors (every problem at once) and
 * returns a {@link RuntimeSpec}. For pipelines built in code (demo, tests); files go through
 * `loadPipeline`, which also reports line numbers.
 */
export function runtimeSpecFromPlain(plain: PlainPipeline, dataDir: string): RuntimeSpec {
  const issues: ConfigIssue[] = [];
  const file = `pipeline ${plain.name}`;
  function parse<T>(list: ReadonlyArray<AnyDescriptor<T>>, what: string, section: string, name: string, raw: Readonly<Record<string, unknown>>, edge: boolean): EdgeComponentSpec | undefined {
    const { type, stream, transforms, ...rest } = raw;
    const d = list.find((x) => x.kind === type);
    if (d === undefined) {
      issues.push({ file, line: undefined, path: `${section}.${name}.type`, message: `unknown ${what} type ${JSON.stringify(type)}; known: ${list.map((x) => x.kind).join(', ') || '(none)'}` });
      return undefined;
    }
    const cfg = d.config.safeParse(edge ? rest : { ...rest, ...(stream === undefined ? {} : { stream }), ...(transforms === undefined ? {} : { transforms }) });
    if (!cfg.success) {
      for (const i of cfg.error.issues) issues.push({ file, line: undefined, path: [section, name, ...i.path.map(String)].join('.'), message: i.message });
      return undefined;
    }
    if (edge && (typeof stream !== 'string' || plain.streams[stream] === undefined)) issues.push({ file, line: undefined, path: `${section}.${name}.stream`, message: `names stream ${JSON.stringify(stream)}, which is not defined under streams` });
    const ts = (transforms ?? []) as string[];
    for (const t of ts) if (plain.transforms?.[t] === undefined) issues.push({ file, line: undefined, path: `${section}.${name}.transforms`, message: `names transform ${JSON.stringify(t)}, which is not defined under transforms` });
    return { type: type as string, stream: String(stream ?? ''), transforms: ts, config: cfg.data };
  }
  const sources: Record<string, EdgeComponentSpec> = {};
  const transforms: Record<string, ComponentSpec> = {};
  const deliveries: Record<string, EdgeComponentSpec> = {};
  for (const [n, raw] of Object.entries(plain.transforms ?? {})) {
    const s = parse(transformKinds, 'transform', 'transforms', n, raw, false);
    if (s !== undefined) transforms[n] = { type: s.type, config: s.config };
  }
  for (const [n, raw] of Object.entries(plain.sources ?? {})) {
    const s = parse(sourceKinds, 'source', 'sources', n, raw, true);
    if (s !== undefined) sources[n] = s;
  }
  for (const [n, raw] of Object.entries(plain.deliveries ?? {})) {
    const s = parse(deliveryKinds, 'delivery', 'deliveries', n, raw, true);
    if (s !== undefined) deliveries[n] = s;
  }
  const lake = lakeConfigSchema.safeParse(plain.lake);
  if (!lake.success) for (const i of lake.error.issues) issues.push({ file, line: undefined, path: ['lake', ...i.path.map(String)].join('.'), message: i.message });
  const currentState = currentStateConfigSchema.safeParse(plain.current_state);
  if (!currentState.success) for (const i of currentState.error.issues) issues.push({ file, line: undefined, path: ['current_state', ...i.path.map(String)].join('.'), message: i.message });
  if (issues.length > 0 || !lake.success || !currentState.success) throw new ConfigError(issues);
  const streams: Record<string, { shards: number }> = {};
  for (const [n, s] of Object.entries(plain.streams)) streams[n] = { shards: s.shards ?? 1 };
  return { name: plain.name, dataDir, lake: lake.data, currentState: currentState.data, streams, sources, transforms, deliveries };
}
