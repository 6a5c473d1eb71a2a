/**
 * Checks anonymize rules against table schemas: the pipeline validator (`hydrant validate`)
 * calls {@link validateRules} with the schemas it knows (from the catalog or a source's
 * introspection), since the zod config schema alone cannot see primary keys.
 */
import type { ConfigIssue } from '../../core/errors.ts';
import type { TableSchema } from '../../core/schema.ts';
import { compileGlobs, compileTablePatterns } from '../common/patterns.ts';
import { COLLAPSING_ACTIONS, collapseMessage, type AnonymizeConfig } from './config.ts';

/**
 * Returns one issue per rule that would apply a collapsing action (redact, random, mask,
 * generalize, drop) to a primary-key column of one of `tables`; the message suggests
 * pseudonymize. `path` is the transform's key path in the pipeline file (e.g.
 * `transforms.anon`), `file` the pipeline file.
 */
export function validateRules(config: AnonymizeConfig, tables: readonly TableSchema[], where: { readonly file: string; readonly path: string; readonly line?: number }): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const rules = config.rules.map((rule, index) => ({ rule, index, tables: compileTablePatterns(rule.tables), columns: compileGlobs(rule.columns) }));
  for (const t of tables) {
    const applicable = rules.filter((r) => r.tables({ source: t.source, schema: t.schema, table: t.table }));
    for (const pk of t.primaryKey) {
      // The first matching rule is the one that applies; later ones never see the column.
      const r = applicable.find((x) => x.columns(pk));
      if (r === undefined || !COLLAPSING_ACTIONS.has(r.rule.action)) continue;
      issues.push({ file: where.file, line: where.line, path: `${where.path}.rules.${r.index}.action`, message: collapseMessage(r.rule.action, pk, `${t.schema}.${t.table}`) });
    }
  }
  return issues;
}
