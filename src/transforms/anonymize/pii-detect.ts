/**
 * Finds columns that look like personal data, from column names and sampled values, and
 * suggests an anonymize rule for each: `hydrant scan-pii` prints them as a starting config.
 * A heuristic, not a guarantee: the output says so, and users review it.
 */
import type { TableSchema } from '../../core/schema.ts';
import type { Row, Value } from '../../core/values.ts';
import { DateValue, Timestamp } from '../../core/values.ts';

/** Kinds of personal data recognized. */
export type PiiKind = 'name' | 'email' | 'phone' | 'address' | 'birth_date' | 'ip' | 'card_number' | 'national_id' | 'person_key';

/** One finding. */
export interface PiiFinding {
  readonly source: string;
  readonly schema: string;
  readonly table: string;
  readonly column: string;
  readonly kind: PiiKind;
  /** Why: `name` (column name), `values` (n% of sampled values), or both. */
  readonly evidence: string;
  /** The suggested rule, as it would appear in the anonymize config (without tables/columns). */
  readonly rule: Readonly<Record<string, string | number | boolean>>;
}

const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[a-z]{2,}$/i;
const PHONE_RE = /^\+?[\d\s().-]{7,20}$/;
const IPV4_RE = /^(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)$/;
const IPV6_RE = /^[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}$/i;
const STREET_RE = /^\d+[a-z]?\s+\S+.*\b(st|street|ave|avenue|rd|road|blvd|lane|ln|dr|drive|way|ct|court|pl|place|sq|square|str|straße|rue|via)\b/i;
const PERSON_TABLE_RE = /(customer|user|person|people|employee|member|contact|patient|client|student|account|author|subscriber|profile)/i;

const NAME_RULES: ReadonlyArray<{ re: RegExp; kind: PiiKind }> = [
  { re: /(^|_)(e_?mail|email_address|mail)$/i, kind: 'email' },
  { re: /(phone|mobile|cell|fax|(^|_)tel(_|$)|telephone|msisdn)/i, kind: 'phone' },
  { re: /(birth|(^|_)dob(_|$)|birthday|^born(_on|_at)?$)/i, kind: 'birth_date' },
  { re: /((^|_)ip(_|$)|ip_?addr|remote_addr|client_ip)/i, kind: 'ip' },
  { re: /(card_?(number|no|num)|(^|_)pan(_|$)|cc_?(number|num)|credit_?card)/i, kind: 'card_number' },
  { re: /((^|_)ssn(_|$)|social_security|national_id|passport|tax_id|(^|_)nin(_|$)|id_number)/i, kind: 'national_id' },
  { re: /(address|street|(^|_)addr(_|$)|postcode|postal_code|zip(_code)?$|(^|_)city(_|$))/i, kind: 'address' },
  { re: /^(first|last|full|middle|given|family|sur|maiden|display|contact)_?name$|^surname$|^forename$/i, kind: 'name' },
];

function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

function valueKind(v: Value): PiiKind | undefined {
  if (v instanceof DateValue || v instanceof Timestamp) return undefined;
  if (typeof v !== 'string') return undefined;
  const s = v.trim();
  // Dates, times and timestamps in text form (a sampled SQL row) are not phone numbers.
  if (/^\d{4}-\d{2}-\d{2}([ T]|$)|^\d{2}:\d{2}(:\d{2})?/.test(s)) return undefined;
  if (EMAIL_RE.test(s)) return 'email';
  if (IPV4_RE.test(s) || (s.includes(':') && IPV6_RE.test(s) && s.length >= 7)) return 'ip';
  const digits = s.replace(/[\s-]/g, '');
  if (/^\d{13,19}$/.test(digits) && luhn(digits)) return 'card_number';
  if (PHONE_RE.test(s) && (s.match(/\d/g)?.length ?? 0) >= 7 && /[\s()+.-]/.test(s)) return 'phone';
  if (STREET_RE.test(s)) return 'address';
  return undefined;
}

/** The rule suggested for a kind; key columns always get pseudonymize (keeps them distinct and joinable). */
export function suggestedRule(kind: PiiKind, isKey: boolean): Record<string, string | number | boolean> {
  if (isKey) return { action: 'pseudonymize' };
  switch (kind) {
    case 'email':
    case 'ip':
    case 'national_id':
    case 'person_key':
      return { action: 'pseudonymize' };
    case 'phone':
      return { action: 'tokenize' };
    case 'card_number':
      return { action: 'tokenize', keep_last: 4 };
    case 'birth_date':
      return { action: 'generalize', to: 'year' };
    case 'name':
    case 'address':
      return { action: 'redact' };
  }
}

/** Sampled rows of one table. */
export interface TableSample {
  readonly schema: TableSchema;
  readonly rows: readonly Row[];
}

/** Scans samples; findings are ordered by table, then column order. */
export function detectPii(samples: readonly TableSample[]): PiiFinding[] {
  const out: PiiFinding[] = [];
  const personTables: TableSample[] = [];
  for (const s of samples) {
    const t = s.schema;
    const personTable = PERSON_TABLE_RE.test(t.table);
    let personal = false;
    for (const c of t.columns) {
      let byName = NAME_RULES.find((r) => r.re.test(c.name))?.kind;
      if (byName === undefined && personTable && /^name$/i.test(c.name)) byName = 'name';
      const counts = new Map<PiiKind, number>();
      let nonNull = 0;
      for (const r of s.rows) {
        const v = r[c.name];
        if (v === undefined || v === null) continue;
        nonNull++;
        const k = valueKind(v);
        if (k !== undefined) counts.set(k, (counts.get(k) ?? 0) + 1);
      }
      let byValue: PiiKind | undefined;
      let share = 0;
      for (const [k, n] of counts) {
        if (n / nonNull >= 0.5 && n / nonNull > share) {
          byValue = k;
          share = n / nonNull;
        }
      }
      const kind = byName ?? byValue;
      if (kind === undefined) continue;
      // A table is about people when it names or contacts them; an IP in a log table is not enough.
      personal ||= kind === 'name' || kind === 'email' || kind === 'national_id';
      const evidence = [byName !== undefined ? 'column name' : '', byValue !== undefined ? `${Math.round(share * 100)}% of ${nonNull} sampled values look like ${byValue}` : ''].filter((x) => x !== '').join('; ');
      out.push({ source: t.source, schema: t.schema, table: t.table, column: c.name, kind, evidence, rule: suggestedRule(kind, t.primaryKey.includes(c.name)) });
    }
    if (personal || personTable) personTables.push(s);
  }
  // The keys of tables about people identify them too, as do the columns that reference those
  // keys elsewhere (customer_id): pseudonymize both so joins still work.
  for (const p of personTables) {
    if (!out.some((f) => f.table === p.schema.table && f.source === p.schema.source)) continue;
    const singular = /^people$/i.test(p.schema.table) ? 'person' : p.schema.table.replace(/ies$/, 'y').replace(/s$/, '');
    for (const pk of p.schema.primaryKey) {
      if (!out.some((f) => f.table === p.schema.table && f.column === pk)) out.push({ source: p.schema.source, schema: p.schema.schema, table: p.schema.table, column: pk, kind: 'person_key', evidence: 'primary key of a table with personal data', rule: { action: 'pseudonymize' } });
    }
    for (const s of samples) {
      for (const c of s.schema.columns) {
        if (c.name.toLowerCase() !== `${singular}_id`.toLowerCase() || out.some((f) => f.table === s.schema.table && f.column === c.name)) continue;
        out.push({ source: s.schema.source, schema: s.schema.schema, table: s.schema.table, column: c.name, kind: 'person_key', evidence: `references ${p.schema.table}`, rule: { action: 'pseudonymize' } });
      }
    }
  }
  return out;
}

/** An anonymize transform config (YAML text) implementing the findings, for users to review and paste. */
export function suggestConfigYaml(findings: readonly PiiFinding[], name = 'anonymize'): string {
  const lines = [`  ${name}:`, '    type: anonymize', '    key: { env: HYDRANT_ANONYMIZE_KEY }   # a stable random secret of at least 16 bytes', '    rules:'];
  for (const f of findings) {
    const extra = Object.entries(f.rule).filter(([k]) => k !== 'action').map(([k, v]) => `, ${k}: ${typeof v === 'string' ? v : String(v)}`).join('');
    lines.push(`      - { tables: [${f.schema}.${f.table}], columns: [${f.column}], action: ${f.rule['action']}${extra} }   # ${f.kind}`);
  }
  return lines.join('\n');
}
