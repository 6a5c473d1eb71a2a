/** `filter`: drops records that match a predicate (or keeps only those that match). */
import { z } from 'zod';
import type { ComponentDescriptor } from '../../core/component.ts';
import type { Transform, TransformItem, TransformResult } from '../transform.ts';
import { compileCondition, condition, type Condition, type Predicate } from './predicate.ts';

export const filterConfig = z
  .strictObject({
    drop_when: condition.optional().describe('Drop records for which this condition holds'),
    keep_when: condition.optional().describe('Keep only records for which this condition holds'),
  })
  .refine((c) => (c.drop_when === undefined) !== (c.keep_when === undefined), { message: 'give exactly one of `drop_when` or `keep_when`' })
  .describe('Drop records by a predicate');
export type FilterConfig = z.output<typeof filterConfig>;

/** Drops records by a predicate. */
export class FilterTransform implements Transform {
  readonly #keep: Predicate;

  constructor(config: FilterConfig) {
    if (config.drop_when !== undefined) {
      const p = compileCondition(config.drop_when);
      this.#keep = (e) => !p(e);
    } else {
      this.#keep = compileCondition(config.keep_when as Condition);
    }
  }

  async apply(items: readonly TransformItem[]): Promise<TransformResult> {
    return { items: items.filter((it) => this.#keep(it.envelope)), failed: [] };
  }

  async close(): Promise<void> {}
}

/** `type: filter`. */
export const filter: ComponentDescriptor<typeof filterConfig, Transform> = {
  kind: 'filter',
  summary: 'Drop records by a predicate on the operation, table or column values',
  config: filterConfig,
  create: (config) => new FilterTransform(config),
};
