/**
 * The `anonymize` transform's config: a secret for the keyed rules and an ordered list of
 * rules. For each column the first rule whose tables and columns match decides what happens.
 */
import { z } from 'zod';

const tables = z
  .array(z.string().min(1))
  .min(1)
  .default(['*'])
  .describe('Table patterns (`*`, `?` globs, case-insensitive): `table`, `schema.table` or `source.schema.table`; default every table');
const columns = z
  .array(z.string().min(1))
  .min(1)
  .describe('Column name patterns (`*`, `?` globs, case-insensitive), e.g. `email`, `*_email`, `phone*`');

const common = { tables, columns };

/** Replace with null or a constant. Collapses distinct values: never on a key column. */
const redact = z.strictObject({
  ...common,
  action: z.literal('redact').describe('Replace the value with `value` (null by default)'),
  value: z.union([z.string(), z.number(), z.boolean(), z.null()]).default(null).describe('Constant written instead of the value'),
});

/** Replace with a random token: unlinkable, but collapses joins. */
const random = z.strictObject({
  ...common,
  action: z.literal('random').describe('Replace the value with a fresh random token (unlinkable; breaks joins)'),
  length: z.number().int().min(8).max(64).default(16).describe('random: length of the hex token (default 16)'),
});

/** Mask characters, keeping the last N (and/or first N), or keeping an email's domain. */
const mask = z.strictObject({
  ...common,
  action: z.literal('mask').describe('Mask characters of a text value'),
  mode: z.enum(['keep_last', 'email_domain']).default('keep_last').describe('`keep_last`: keep `keep_last` trailing (and `keep_first` leading) characters; `email_domain`: mask the local part and keep `@domain`'),
  keep_last: z.number().int().min(0).default(4).describe('mask: trailing characters kept in `keep_last` mode (default 4)'),
  keep_first: z.number().int().min(0).default(0).describe('Leading characters kept in `keep_last` mode'),
  mask_char: z.string().length(1).default('*').describe('Character written over masked characters'),
});

/** Unkeyed SHA-256 (hex). Dictionary attacks reverse it on small domains: prefer pseudonymize. */
const hash = z.strictObject({
  ...common,
  action: z.literal('hash').describe('Replace with the SHA-256 hex digest of the value (unkeyed: prefer pseudonymize for guessable values)'),
});

/** Keyed pseudonym: same input, same token, in every table, so joins still work. */
const pseudonymize = z.strictObject({
  ...common,
  action: z.literal('pseudonymize').describe('Keyed, deterministic pseudonym (HMAC-SHA-256 for text; a keyed permutation that keeps integers integers, in range and distinct)'),
  length: z.number().int().min(16).max(64).default(32).describe('pseudonymize: hex characters of a text token (default 32 = 128 bits, so distinct keys stay distinct)'),
  prefix: z.string().default('').describe('Text put before a text token, e.g. `cust_`'),
});

/** Keyed, format-preserving token: digits stay digits, letters stay letters, length kept. */
const tokenize = z.strictObject({
  ...common,
  action: z.literal('tokenize').describe('Keyed format-preserving token: digits stay digits, letters stay letters (case kept), other characters and the length are kept'),
  keep_last: z.number().int().min(0).default(0).describe('tokenize: trailing characters left as they are, e.g. 4 for card numbers (default 0)'),
});

/** Coarsen a value: dates to month or year, numbers to buckets, birth dates to ages. */
const generalize = z.strictObject({
  ...common,
  action: z.literal('generalize').describe('Coarsen the value'),
  to: z.enum(['month', 'year', 'bucket', 'age']).describe('`month`/`year`: truncate a date or timestamp; `bucket`: round a number down to a multiple of `size`; `age`: whole years from a birth date to the change\'s commit time (then bucketed by `size`)'),
  size: z.number().positive().default(1).describe('Bucket width for `bucket` and `age` (e.g. 10 for decades)'),
});

/** Remove the column. */
const drop = z.strictObject({
  ...common,
  action: z.literal('drop').describe('Remove the column from every row'),
});

/** One anonymization rule. */
export const anonymizeRule = z.discriminatedUnion('action', [redact, random, mask, hash, pseudonymize, tokenize, generalize, drop]);
export type AnonymizeRule = z.output<typeof anonymizeRule>;
export type AnonymizeAction = AnonymizeRule['action'];

/** Actions that can map distinct values to one value, or remove the value: forbidden on key columns. */
export const COLLAPSING_ACTIONS: ReadonlySet<AnonymizeAction> = new Set(['redact', 'random', 'mask', 'generalize', 'drop']);

/** Actions that need the secret key. */
export const KEYED_ACTIONS: ReadonlySet<AnonymizeAction> = new Set(['pseudonymize', 'tokenize']);

const secret = z
  .strictObject({
    env: z.string().min(1).optional().describe('Environment variable that holds the key'),
    file: z.string().min(1).optional().describe('File that holds the key (trailing newline ignored)'),
  })
  .refine((s) => (s.env === undefined) !== (s.file === undefined), { message: 'give exactly one of `env` or `file`' })
  .describe('Where the HMAC key for pseudonymize/tokenize comes from (at least 16 bytes; never logged)');

/** Config of the `anonymize` transform. */
export const anonymizeConfig = z
  .strictObject({
    key: secret.optional(),
    rules: z.array(anonymizeRule).min(1).describe('Ordered rules; for each column the first matching rule applies'),
  })
  .superRefine((c, ctx) => {
    c.rules.forEach((r, i) => {
      if (KEYED_ACTIONS.has(r.action) && c.key === undefined) {
        ctx.addIssue({ code: 'custom', path: ['rules', i, 'action'], message: `action ${r.action} needs a secret: add \`key: { env: HYDRANT_ANONYMIZE_KEY }\` (or \`file:\`)` });
      }
      // The schema cannot see table schemas; `id` is the one column name that is a key almost
      // everywhere, so catch the obvious case here and leave the rest to validateRules/runtime.
      if (COLLAPSING_ACTIONS.has(r.action) && r.columns.some((p) => p.toLowerCase() === 'id' || p === '*')) {
        ctx.addIssue({ code: 'custom', path: ['rules', i, 'action'], message: collapseMessage(r.action, r.columns.find((p) => p.toLowerCase() === 'id' || p === '*') ?? 'id') });
      }
    });
  })
  .describe('Anonymize columns before anything is stored');
export type AnonymizeConfig = z.output<typeof anonymizeConfig>;

/** The message for a collapsing rule on a key column: what is wrong and the rule that works. */
export function collapseMessage(action: string, column: string, table?: string): string {
  return `rule \`${action}\` on key column ${JSON.stringify(column)}${table === undefined ? '' : ` of ${table}`} would make distinct rows share one key (they would overwrite each other and joins would break); use \`action: pseudonymize\` (keyed, deterministic and distinct) for key columns`;
}
