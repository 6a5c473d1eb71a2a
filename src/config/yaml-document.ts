/**
 * Reads pipeline YAML into plain data while remembering the line of every key, so that each
 * later problem can name `file:line`. Environment references are substituted here, on the
 * scalar nodes, so a missing variable is reported at the line that uses it.
 */
import { LineCounter, Scalar, isMap, isPair, isScalar, isSeq, parse, parseDocument } from 'yaml';
import type { Node } from 'yaml';
import type { ConfigIssue } from '../core/errors.ts';
import { substituteEnv } from './env.ts';

/** A path into the document: mapping keys and list indexes. */
export type ConfigPath = ReadonlyArray<string | number>;

/** Renders a path as `sources.pg.tables[0]`. */
export function formatPath(path: ConfigPath): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out === '' ? String(seg) : `.${String(seg)}`;
  return out;
}

/** The parsed document. */
export interface YamlDocument {
  /** Plain data (after environment substitution); undefined for an empty file. */
  readonly data: unknown;
  /** Syntax, duplicate-key and environment problems. */
  readonly issues: ConfigIssue[];
  /** true when the YAML could not be read at all (other checks would only add noise). */
  readonly fatal: boolean;
  /** Paths whose values were already reported (unresolved env references). */
  readonly reported: ReadonlySet<string>;
  /** Paths whose values came (partly) from environment variables: never shown in messages. */
  readonly fromEnv: ReadonlySet<string>;
  /** Line of the key at `path`, or of its nearest ancestor that exists. */
  lineOf(path: ConfigPath): number | undefined;
}

/** Parses pipeline YAML text. `file` is only used in issues. */
export function readYaml(text: string, file: string, env: Readonly<Record<string, string | undefined>>): YamlDocument {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, uniqueKeys: true, prettyErrors: false, merge: true });
  const lines = new Map<string, number>();
  const issues: ConfigIssue[] = [];
  const reported = new Set<string>();
  const fromEnv = new Set<string>();
  const lineAt = (offset: number | undefined): number | undefined => (offset === undefined ? undefined : counter.linePos(offset).line);
  const lineOf = (path: ConfigPath): number | undefined => {
    for (let n = path.length; n >= 0; n--) {
      const l = lines.get(formatPath(path.slice(0, n)));
      if (l !== undefined) return l;
    }
    return undefined;
  };

  const fatal = doc.errors.some((e) => e.code !== 'DUPLICATE_KEY');
  const keyPaths = new Map<number, string>();
  for (const e of doc.errors) {
    // yaml's own messages may quote the offending source line (which can hold a secret): keep only the description.
    const what = e.message.replace(/ at line \d+, column \d+[\s\S]*$/, '');
    if (e.code === 'DUPLICATE_KEY') {
      // Reported after the walk below, which knows the key's path.
    } else {
      issues.push({ file, line: lineAt(e.pos[0]), path: '', message: `YAML syntax error (${e.code}): ${what}` });
    }
  }
  if (fatal) return { data: undefined, issues, fatal, reported, fromEnv, lineOf };

  const walk = (node: unknown, path: Array<string | number>): void => {
    if (isMap(node)) {
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        const child = [...path, key];
        const offset = (pair.key as Node | null)?.range?.[0];
        const at = lineAt(offset);
        if (at !== undefined) lines.set(formatPath(child), at);
        if (offset !== undefined) keyPaths.set(offset, formatPath(child));
        walk(pair.value, child);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => {
        const child = [...path, i];
        const at = lineAt((item as Node | null)?.range?.[0]);
        if (at !== undefined) lines.set(formatPath(child), at);
        walk(item, child);
      });
    } else if (isScalar(node) && typeof node.value === 'string') {
      const r = substituteEnv(node.value, env);
      if (!r.ok) {
        reported.add(formatPath(path));
        const line = lineAt(node.range?.[0]) ?? lineOf(path);
        if (r.malformed) issues.push({ file, line, path: formatPath(path), message: 'malformed environment reference: expected ${NAME} or ${NAME:-default} with NAME made of letters, digits and _ (write $${ for a literal ${)' });
        for (const name of r.missing) issues.push({ file, line, path: formatPath(path), message: `environment variable ${name} is not set; set it or write \${${name}:-default}` });
      } else if (r.changed) {
        fromEnv.add(formatPath(path));
        node.value = node.type === Scalar.PLAIN ? retype(r.value) : r.value;
      }
    }
  };
  walk(doc.contents, []);
  for (const e of doc.errors) {
    if (e.code === 'DUPLICATE_KEY') issues.push({ file, line: lineAt(e.pos[0]), path: keyPaths.get(e.pos[0]) ?? '', message: 'duplicate key: this key already appears earlier in the same mapping; remove or rename one (YAML would silently keep only one)' });
  }
  if (doc.contents !== null) {
    const at = lineAt(doc.contents.range?.[0]);
    if (at !== undefined) lines.set('', at);
  }
  return { data: doc.toJS({ maxAliasCount: 100 }) as unknown, issues, fatal: false, reported, fromEnv, lineOf };
}

/** An unquoted `port: ${PORT}` becomes a number, like a literal `port: 5432` would. */
function retype(text: string): unknown {
  if (!/^(-?\d+(\.\d+)?([eE][-+]?\d+)?|true|false|null|~)$/.test(text.trim())) return text;
  return parse(text) as unknown;
}
