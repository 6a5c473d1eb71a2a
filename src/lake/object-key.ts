/** Object key rules shared by every store, so a key valid on one store is valid on all. */
import { HydrantError } from '../core/errors.ts';

/** Throws when a key is empty, absolute, has empty or dot segments, or control characters. */
export function validateKey(key: string): void {
  const bad =
    key === '' ||
    key.startsWith('/') ||
    key.endsWith('/') ||
    key.split('/').some((s) => s === '' || s === '.' || s === '..' || s === '.hydrant-tmp') ||
    // eslint-disable-next-line no-control-regex
    /[\u0000-\u001f\u007f\\]/.test(key) ||
    Buffer.byteLength(key) > 1024;
  if (bad) throw new HydrantError('LAKE_KEY_INVALID', `invalid object key ${JSON.stringify(key.slice(0, 200))}: keys are relative, '/'-separated, without empty, '.' or '..' segments, backslashes or control characters, at most 1024 bytes. Check the delivery's prefix template.`);
}
