/**
 * Helpers shared by state store implementations: deep equality for conditions (key order of
 * objects does not matter, as the contract says "deep-equal") and a check that a value
 * survives a JSON round trip unchanged, so a store never silently turns `NaN` into `null`.
 */
import type { StateOp, StateValue } from './state-store.ts';
import { StateValueError } from './errors.ts';

/** Deep equality of two state values; `undefined` means "absent". */
export function stateValueEquals(a: StateValue | undefined, b: StateValue | undefined): boolean {
  if (a === b) return true;
  if (a === null || b === null || a === undefined || b === undefined) return false;
  if (typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => stateValueEquals(x, b[i]));
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => Object.hasOwn(b, k) && stateValueEquals(a[k], b[k]));
}

/** Throws a {@link StateValueError} naming the key when an op cannot be stored losslessly. */
export function assertValidOps(ops: readonly StateOp[]): void {
  for (const op of ops) {
    if (typeof op.key !== 'string' || op.key.length === 0) throw new StateValueError(`state store keys must be non-empty strings; got ${JSON.stringify(op.key)}. Fix the caller that builds this key.`);
    if (op.type === 'put') checkValue(op.value, op.key, '');
    else if (op.type !== 'delete') throw new StateValueError(`state op on key ${JSON.stringify((op as { key: unknown }).key)} has unknown type ${JSON.stringify((op as { type: unknown }).type)}; expected "put" or "delete".`);
  }
}

function checkValue(v: unknown, key: string, at: string): void {
  const bad = (what: string): never => {
    throw new StateValueError(`state value for key ${JSON.stringify(key)}${at === '' ? '' : ` at ${at}`} is ${what}, which JSON cannot carry losslessly; encode it first (e.g. bigint as a decimal string).`, { key });
  };
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) bad(String(v));
    return;
  }
  if (Array.isArray(v)) {
    v.forEach((x, i) => checkValue(x, key, `${at}[${i}]`));
    return;
  }
  if (typeof v === 'object') {
    const proto = Object.getPrototypeOf(v) as unknown;
    if (proto !== Object.prototype && proto !== null) bad(`a ${(v as object).constructor?.name ?? 'non-plain'} object`);
    for (const [k, x] of Object.entries(v)) checkValue(x, key, `${at}.${k}`);
    return;
  }
  bad(typeof v);
}
