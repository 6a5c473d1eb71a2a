/**
 * Loads the anonymization key from an environment variable or a file. The key never appears
 * in errors, logs or `details`: messages name only where it was looked for.
 */
import { readFileSync } from 'node:fs';
import { HydrantError } from '../../core/errors.ts';

/** The key is missing, unreadable or too short. */
export class SecretError extends HydrantError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SECRET_INVALID', message, options);
  }
}

/** Minimum key length: HMAC-SHA-256 keys shorter than this are guessable. */
export const MIN_KEY_BYTES = 16;

/** Reads the key from `env` (an environment variable name) or `file` (a path). */
export function loadSecret(where: { readonly env?: string | undefined; readonly file?: string | undefined }, env: NodeJS.ProcessEnv = process.env): Buffer {
  let key: Buffer;
  let origin: string;
  if (where.env !== undefined) {
    origin = `environment variable ${where.env}`;
    const v = env[where.env];
    if (v === undefined || v === '') throw new SecretError(`anonymize: the key ${origin} is not set; set it to a random value of at least ${MIN_KEY_BYTES} bytes (e.g. \`openssl rand -hex 32\`) and keep it stable, or tokens change`);
    key = Buffer.from(v, 'utf8');
  } else if (where.file !== undefined) {
    origin = `file ${where.file}`;
    try {
      key = Buffer.from(readFileSync(where.file, 'utf8').replace(/\r?\n$/, ''), 'utf8');
    } catch (err) {
      // Only the errno code: the error message of a read can quote nothing secret, but keep it minimal.
      throw new SecretError(`anonymize: cannot read the key ${origin} (${(err as NodeJS.ErrnoException).code ?? 'error'}); check the path and permissions`);
    }
  } else {
    throw new SecretError('anonymize: no key configured; add `key: { env: NAME }` or `key: { file: PATH }`');
  }
  if (key.length < MIN_KEY_BYTES) throw new SecretError(`anonymize: the key in ${origin} is ${key.length} bytes; use at least ${MIN_KEY_BYTES} random bytes (e.g. \`openssl rand -hex 32\`)`);
  return key;
}
