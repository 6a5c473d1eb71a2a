/**
 * The column type an anonymize rule produces from a column of a given type, so that the
 * schema recorded for what is stored matches the values (see `Transform.mapSchema`).
 */
import type { ColumnSchema, ColumnType } from '../../core/schema.ts';
import type { AnonymizeRule } from './config.ts';

const STRING: ColumnType = { kind: 'string' };
const INTEGER_KINDS = new Set(['int16', 'int32', 'int64']);

/** The output column of `rule` applied to `col`, or null when the rule drops it. */
export function anonymizedColumn(rule: AnonymizeRule, col: ColumnSchema): ColumnSchema | null {
  const t = col.type;
  const asText = (): ColumnSchema => ({ ...col, type: t.kind === 'string' ? t : STRING });
  switch (rule.action) {
    case 'drop':
      return null;
    case 'redact': {
      const v = rule.value;
      const nullable = col.nullable || v === null;
      if (v === null) return { ...col, nullable };
      // The constant keeps the column type when it is of that kind; otherwise the column holds text.
      if (typeof v === 'string' && (t.kind === 'string' || t.kind === 'enum')) return { ...col, type: STRING, nullable };
      if (typeof v === 'number' && (t.kind === 'float64' || t.kind === 'float32')) return { ...col, nullable };
      if (typeof v === 'boolean' && t.kind === 'boolean') return { ...col, nullable };
      return typeof v === 'number' ? { ...col, type: { kind: 'float64' }, nullable } : typeof v === 'boolean' ? { ...col, type: { kind: 'boolean' }, nullable } : { ...col, type: STRING, nullable };
    }
    case 'random':
    case 'hash':
    case 'mask':
      return asText();
    case 'pseudonymize':
      // Integers keep their size tier: an int16 may map anywhere in int32.
      if (t.kind === 'int16') return { ...col, type: { kind: 'int32' } };
      if (INTEGER_KINDS.has(t.kind) || t.kind === 'uuid' || (t.kind === 'decimal' && (t.scale ?? 0) === 0)) return col;
      return asText();
    case 'tokenize':
      if (INTEGER_KINDS.has(t.kind) || t.kind === 'string' || t.kind === 'decimal') return col;
      return asText();
    case 'generalize':
      if (rule.to === 'age') return { ...col, type: { kind: 'int32' }, nullable: true };
      // Unparseable values become null.
      return { ...col, nullable: true, ...(t.kind === 'string' || t.kind === 'date' || t.kind === 'timestamp' || t.kind === 'timestamptz' || rule.to === 'bucket' ? {} : { type: STRING }) };
  }
}
