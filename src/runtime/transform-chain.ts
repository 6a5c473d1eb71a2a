/**
 * Applies an edge's transforms in order. Items a transform fails are collected with that
 * transform's name, which the runner writes into the error object it stores under
 * `errors/<delivery or source>/processing-failed/`.
 */
import type { Transform, TransformItem } from '../transforms/transform.ts';

/** One named transform of an edge. */
export interface NamedTransform {
  readonly name: string;
  readonly transform: Transform;
}

/** An item some transform failed. */
export interface ChainFailure {
  /** The transform's name. */
  readonly component: string;
  readonly item: TransformItem;
  readonly reason: string;
  readonly attempts: number;
}

/** Runs `items` through `chain`; returns the survivors and every failure. */
export async function applyChain(chain: readonly NamedTransform[], items: TransformItem[]): Promise<{ items: TransformItem[]; failed: ChainFailure[] }> {
  const failed: ChainFailure[] = [];
  let cur = items;
  for (const { name, transform } of chain) {
    if (cur.length === 0) break;
    const r = await transform.apply(cur);
    for (const f of r.failed) failed.push({ component: name, item: f.item, reason: f.reason, attempts: f.attempts });
    cur = r.items;
  }
  return { items: cur, failed };
}
