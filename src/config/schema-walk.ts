/**
 * Walks zod schemas structurally: which keys an object accepts at a path (for "did you mean"),
 * and the field list of an object schema (for the generated docs).
 */
import type { z } from 'zod';

interface Def {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  out?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  valueType?: z.ZodType;
  element?: z.ZodType;
  options?: z.ZodType[];
  discriminator?: string;
  getter?: () => z.ZodType;
}

function def(s: z.ZodType): Def {
  return (s as unknown as { _zod: { def: Def } })._zod.def;
}

const WRAPPERS = new Set(['default', 'prefault', 'optional', 'nullable', 'readonly', 'catch', 'nonoptional', 'success']);

/** Strips wrappers (default, optional, pipe input side...) down to the structural schema. */
export function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  for (let i = 0; i < 50; i++) {
    const d = def(s);
    if (WRAPPERS.has(d.type) && d.innerType !== undefined) s = d.innerType;
    else if (d.type === 'pipe' && d.in !== undefined) s = def(d.in).type === 'transform' && d.out !== undefined ? d.out : d.in;
    else if (d.type === 'lazy' && d.getter !== undefined) s = d.getter();
    else return s;
  }
  return s;
}

/** The structural type name after unwrapping (`object`, `record`, `string`, ...). */
export function typeName(schema: z.ZodType): string {
  return def(unwrap(schema)).type;
}

function pickOption(s: z.ZodType, data: unknown, key: string | number | undefined): z.ZodType | undefined {
  const d = def(s);
  const options = d.options ?? [];
  if (d.discriminator !== undefined && data !== null && typeof data === 'object') {
    const want = (data as Record<string, unknown>)[d.discriminator];
    const hit = options.find((o) => {
      const lit = def(unwrap(o)).shape?.[d.discriminator as string];
      const ld = lit === undefined ? undefined : (def(unwrap(lit)) as Def & { values?: unknown[] });
      return ld?.values?.includes(want) === true;
    });
    if (hit !== undefined) return hit;
  }
  return options.find((o) => def(unwrap(o)).type === 'object' && (key === undefined || def(unwrap(o)).shape?.[String(key)] !== undefined));
}

/** The keys an object schema accepts at `path` into `data`, or undefined when there is no object there. */
export function objectKeysAt(schema: z.ZodType, path: ReadonlyArray<string | number>, data: unknown): string[] | undefined {
  let s: z.ZodType | undefined = schema;
  let cur = data;
  const resolveUnion = (x: z.ZodType, next: string | number | undefined): z.ZodType | undefined => {
    const u = unwrap(x);
    return def(u).type === 'union' ? (pickOption(u, cur, next) === undefined ? undefined : unwrap(pickOption(u, cur, next) as z.ZodType)) : u;
  };
  for (const seg of path) {
    const u = s === undefined ? undefined : resolveUnion(s, seg);
    if (u === undefined) return undefined;
    const d = def(u);
    s = d.type === 'object' ? d.shape?.[String(seg)] : d.type === 'record' ? d.valueType : d.type === 'array' ? d.element : undefined;
    cur = cur !== null && typeof cur === 'object' ? (cur as Record<string | number, unknown>)[seg] : undefined;
  }
  const end = s === undefined ? undefined : resolveUnion(s, undefined);
  if (end === undefined) return undefined;
  const d = def(end);
  return d.type === 'object' && d.shape !== undefined ? Object.keys(d.shape) : undefined;
}

/** One field of an object schema, for documentation. */
export interface FieldDoc {
  readonly name: string;
  readonly type: string;
  readonly required: boolean;
  /** Default as the user would write it, when there is one. */
  readonly default: unknown;
  readonly hasDefault: boolean;
  readonly description: string | undefined;
  /** The field's schema (with its wrappers). */
  readonly schema: z.ZodType;
}

/** Human type of a schema for docs (`string`, `duration`, `"fs" | "s3"`, `list of string`). */
export function describeType(schema: z.ZodType): string {
  let s = schema;
  for (let i = 0; i < 50; i++) {
    const meta = (s as unknown as { meta?: () => Record<string, unknown> | undefined }).meta?.();
    if (meta !== undefined && typeof meta['unit'] === 'string') return meta['unit'];
    const d = def(s);
    if (WRAPPERS.has(d.type) && d.innerType !== undefined) s = d.innerType;
    else break;
  }
  const u = unwrap(s);
  const d = def(u) as Def & { values?: unknown[]; entries?: Record<string, unknown>; checks?: unknown[]; format?: string };
  switch (d.type) {
    case 'literal':
      return (d.values ?? []).map((v) => JSON.stringify(v)).join(' | ');
    case 'enum':
      return Object.values(d.entries ?? {}).map((v) => JSON.stringify(v)).join(' | ');
    case 'array':
      return `list of ${describeType(d.element as z.ZodType)}`;
    case 'record': {
      const inner = describeType(d.valueType as z.ZodType);
      return `map of ${inner.startsWith('map of') ? 'mapping' : inner}`;
    }
    case 'object':
      return 'mapping';
    case 'union':
      return [...new Set((d.options ?? []).map(describeType))].join(' | ');
    case 'number':
      return (u as unknown as { isInt?: boolean }).isInt === true || d.format === 'safeint' ? 'integer' : 'number';
    case 'string':
      return d.format !== undefined && d.format !== 'regex' ? `string (${d.format})` : 'string';
    default:
      return d.type;
  }
}

/** Fields of an object schema (after unwrapping), in declaration order. */
export function objectFields(schema: z.ZodType): FieldDoc[] | undefined {
  const u = unwrap(schema);
  const shape = def(u).shape;
  if (def(u).type !== 'object' || shape === undefined) return undefined;
  return Object.entries(shape).map(([name, field]) => {
    let s = field;
    let description = (s as unknown as { description?: string }).description;
    let hasDefault = false;
    let dflt: unknown;
    let optional = false;
    for (let i = 0; i < 50; i++) {
      const d = def(s) as Def & { defaultValue?: unknown };
      description ??= (s as unknown as { description?: string }).description;
      if (d.type === 'default' || d.type === 'prefault') {
        hasDefault = true;
        dflt = d.defaultValue;
      }
      if (d.type === 'optional') optional = true;
      if (WRAPPERS.has(d.type) && d.innerType !== undefined) s = d.innerType;
      else break;
    }
    description ??= (s as unknown as { description?: string }).description;
    return { name, type: describeType(field), required: !hasDefault && !optional, default: dflt, hasDefault, description, schema: field };
  });
}

/**
 * Fields of an object schema including nested ones (`key.sub`, `list[].sub`), depth-first,
 * for documentation. Union options' fields are merged (first description wins).
 */
export function nestedFields(schema: z.ZodType, prefix = '', depth = 0): FieldDoc[] {
  const out: FieldDoc[] = [];
  const seen = new Set<string>();
  for (const f of objectFields(schema) ?? []) {
    const name = `${prefix}${f.name}`;
    if (seen.has(name)) continue;
    seen.add(name);
    out.push({ ...f, name });
    if (depth >= 3) continue;
    let inner = unwrap(f.schema);
    let sub = `${name}.`;
    if (def(inner).type === 'array' && def(inner).element !== undefined) {
      inner = unwrap(def(inner).element as z.ZodType);
      sub = `${name}[].`;
    }
    const targets = def(inner).type === 'union' ? (def(inner).options ?? []) : [inner];
    for (const t of targets) {
      for (const nf of nestedFields(t, sub, depth + 1)) {
        const at = out.findIndex((o) => o.name === nf.name);
        if (at === -1) {
          seen.add(nf.name);
          out.push(nf);
        } else {
          // Same key in several union options (a discriminator, say): list every form.
          const prev = out[at] as FieldDoc;
          const literal = /^"[^"|]*"$/;
          const label = (f: FieldDoc): string => (literal.test(f.type) ? `${f.type.replace(/"/g, '`')}: ${f.description ?? ''}` : f.description ?? '');
          const description = prev.description === nf.description ? prev.description : `${prev.type.includes(' | ') || !literal.test(prev.type) ? prev.description ?? '' : label(prev)}; ${label(nf)}`;
          out[at] = { ...prev, type: [...new Set([...prev.type.split(' | '), ...nf.type.split(' | ')])].join(' | '), required: prev.required && nf.required, description };
        }
      }
    }
  }
  return out;
}

/** The options of a (discriminated) union after unwrapping, or undefined when it is not a union. */
export function unionOptions(schema: z.ZodType): z.ZodType[] | undefined {
  const d = def(unwrap(schema));
  return d.type === 'union' ? d.options : undefined;
}

/** The description attached to a schema or any wrapper around it. */
export function descriptionOf(schema: z.ZodType): string | undefined {
  let s = schema;
  for (let i = 0; i < 50; i++) {
    const text = (s as unknown as { description?: string }).description;
    if (text !== undefined) return text;
    const d = def(s);
    if (WRAPPERS.has(d.type) && d.innerType !== undefined) s = d.innerType;
    else if (d.type === 'pipe' && d.in !== undefined) s = d.in;
    else return undefined;
  }
  return undefined;
}
