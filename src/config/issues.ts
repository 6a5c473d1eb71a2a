/**
 * Turns zod issues into {@link ConfigIssue}s a person can act on: what was expected and what
 * was found, with the file line, a "did you mean" for misspelt keys, and never the value of a
 * key that looks secret.
 */
import type { z } from 'zod';
import type { ConfigIssue } from '../core/errors.ts';
import { formatPath } from './yaml-document.ts';
import type { ConfigPath, YamlDocument } from './yaml-document.ts';
import { objectKeysAt } from './schema-walk.ts';

const SECRET = /(pass(word|wd|phrase)?|secret|token|credential|private|api[_-]?key|access[_-]?key|(^|[_-])key$|^key$|auth|session|cookie|signature|salt)/i;

/** true when a key name suggests its value must not be shown (password, secret, token, key...). */
export function isSecretKey(key: string | number): boolean {
  return typeof key === 'string' && SECRET.test(key);
}

/** true when any segment of the path looks secret (`credentials.user` counts). */
export function isSecretPath(path: ConfigPath): boolean {
  return path.some(isSecretKey);
}

/** Describes a found value for a message; hides it under a secret-looking key. */
export function describeFound(value: unknown, secret: boolean): string {
  const kind = value === null ? 'null' : Array.isArray(value) ? 'a list' : typeof value === 'object' ? 'a mapping' : typeof value === 'string' ? 'a string' : typeof value === 'number' ? 'a number' : typeof value === 'boolean' ? 'a boolean' : typeof value;
  if (secret && typeof value !== 'object') return `${kind} (value hidden: the key looks secret or the value comes from the environment)`;
  if (typeof value === 'string') {
    // Credentials inside URLs (postgres://user:pass@host) are hidden even under harmless keys.
    const shown = value.replace(/(:\/\/[^:/@\s]*:)[^@/\s]*@/g, '$1***@');
    return `${kind} ${JSON.stringify(shown.length > 60 ? `${shown.slice(0, 57)}...` : shown)}`;
  }
  if (typeof value === 'number' || typeof value === 'boolean') return `${kind} ${String(value)}`;
  return kind;
}

const EXPECTED: Readonly<Record<string, string>> = {
  object: 'a mapping', record: 'a mapping', map: 'a mapping', array: 'a list', tuple: 'a list', string: 'a string', number: 'a number',
  int: 'a whole number', boolean: 'a boolean (true or false)', bigint: 'a whole number', null: 'null', date: 'a date', nan: 'a number',
};

/** Closest candidate by edit distance, when it is close enough to be a likely typo. */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  if (best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3))) return best;
  // `retention` for `retention_age`: a shortened or extended name is a likely intent too.
  const w = word.toLowerCase();
  return w.length >= 3 ? candidates.find((c) => c.toLowerCase().startsWith(w) || (c.length >= 3 && w.startsWith(c.toLowerCase()))) : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j] as number;
      row[j] = Math.min(cur + 1, (row[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length] as number;
}

function valueAt(data: unknown, path: ConfigPath): unknown {
  let cur = data;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[seg];
  }
  return cur;
}

/**
 * Converts zod issues found while validating `data` (the value at `base` in the document)
 * against `schema`. Issues at paths already reported (unresolved env references) are dropped.
 */
export function toConfigIssues(zodIssues: readonly z.core.$ZodIssue[], ctx: { file: string; doc: YamlDocument; base: ConfigPath; data: unknown; schema: z.ZodType; extraKeys?: readonly string[] }): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const push = (rel: ConfigPath, message: string): void => {
    const path = [...ctx.base, ...rel];
    const key = formatPath(path);
    if (ctx.doc.reported.has(key)) return;
    const found = valueAt(ctx.data, rel);
    let text = message;
    // Whatever a component's own message says, a hidden value must not appear in it.
    if ((ctx.doc.fromEnv.has(key) || isSecretPath(path)) && (typeof found === 'string' || typeof found === 'number') && String(found).length >= 3) {
      text = text.split(String(found)).join('<hidden>');
      if (typeof found === 'string' && found.length > 3) text = text.split(JSON.stringify(found)).join('<hidden>');
    }
    out.push({ file: ctx.file, line: ctx.doc.lineOf(path), path: key, message: text });
  };
  for (const issue of zodIssues) {
    const rel = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    const found = valueAt(ctx.data, rel);
    const fromEnv = ctx.doc.fromEnv.has(formatPath([...ctx.base, ...rel]));
    const secret = fromEnv || isSecretPath([...ctx.base, ...rel]);
    switch (issue.code) {
      case 'unrecognized_keys': {
        const known = [...(objectKeysAt(ctx.schema, rel, ctx.data) ?? []), ...(rel.length === 0 ? (ctx.extraKeys ?? []) : [])];
        for (const key of issue.keys) {
          const guess = didYouMean(key, known);
          push([...rel, key], `unknown key ${JSON.stringify(key)}${guess === undefined ? '' : `; did you mean ${JSON.stringify(guess)}?`}${known.length > 0 ? ` (known keys: ${known.join(', ')})` : ''}`);
        }
        break;
      }
      case 'invalid_type': {
        const expected = EXPECTED[issue.expected] ?? issue.expected;
        push(rel, found === undefined ? `missing required key (expected ${expected})` : `expected ${expected}, found ${describeFound(found, secret)}`);
        break;
      }
      case 'invalid_value':
        push(rel, `expected ${issue.values.length === 1 ? JSON.stringify(issue.values[0]) : `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`}, found ${found === undefined ? 'nothing' : describeFound(found, secret)}`);
        break;
      case 'invalid_union': {
        const u = issue as z.core.$ZodIssueInvalidUnion & { discriminator?: string; options?: unknown[] };
        if (u.discriminator !== undefined && u.options !== undefined) {
          push(rel, found === undefined ? `missing required key (expected one of ${u.options.map((o) => JSON.stringify(o)).join(', ')})` : `expected one of ${u.options.map((o) => JSON.stringify(o)).join(', ')}, found ${describeFound(found, secret)}`);
        } else {
          const kinds = [...new Set(u.errors.flat().filter((e) => e.code === 'invalid_type').map((e) => EXPECTED[(e as z.core.$ZodIssueInvalidType).expected] ?? (e as z.core.$ZodIssueInvalidType).expected))];
          push(rel, found === undefined ? `missing required key (expected ${kinds.join(' or ') || 'a value'})` : `expected ${kinds.join(' or ') || 'another form of value'}, found ${describeFound(found, secret)}`);
        }
        break;
      }
      case 'too_small':
      case 'too_big': {
        const small = issue.code === 'too_small';
        const limit = String(small ? issue.minimum : issue.maximum);
        const incl = issue.inclusive !== false;
        const what =
          issue.origin === 'string' ? (small && limit === '1' ? 'a non-empty string' : `a string of ${small ? 'at least' : 'at most'} ${limit} characters`)
          : issue.origin === 'array' || issue.origin === 'set' ? (small && limit === '1' ? 'at least one item' : `${small ? 'at least' : 'at most'} ${limit} items`)
          : `a number ${small ? (incl ? '>=' : '>') : incl ? '<=' : '<'} ${limit}`;
        push(rel, `expected ${what}, found ${describeFound(found, secret)}`);
        break;
      }
      case 'invalid_format': {
        const f = issue as z.core.$ZodIssueInvalidStringFormat & { pattern?: string };
        push(rel, `expected ${f.format === 'regex' && f.pattern !== undefined ? `a string matching ${f.pattern}` : `a valid ${f.format}`}, found ${describeFound(found, secret)}`);
        break;
      }
      case 'invalid_key':
        push(rel, `invalid name ${JSON.stringify(rel[rel.length - 1])}: expected letters, digits, _ and - (at most 64), starting with a letter or digit`);
        break;
      case 'custom':
        push(rel, secret ? issue.message.replace(/, found [\s\S]*$/, ', found a value (hidden: the key looks secret or the value comes from the environment)') : issue.message);
        break;
      default:
        push(rel, `${issue.message}${found === undefined ? '' : `; found ${describeFound(found, secret)}`}`);
    }
  }
  return out;
}
