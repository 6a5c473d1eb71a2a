/**
 * `${NAME}` and `${NAME:-default}` references in pipeline values, resolved from the
 * environment. `$${` writes a literal `${`. As in the shell, `:-` also applies when the
 * variable is set but empty.
 */

/** Result of substituting one string. */
export type EnvResult = { readonly ok: true; readonly value: string; readonly changed: boolean } | { readonly ok: false; readonly missing: readonly string[]; readonly malformed: boolean };

const REF = /\$\$\{|\$\{([^}]*)\}|\$\{/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Replaces every reference in `text`; reports every unset variable without a default. */
export function substituteEnv(text: string, env: Readonly<Record<string, string | undefined>>): EnvResult {
  if (!text.includes('${')) return { ok: true, value: text, changed: false };
  const missing: string[] = [];
  let malformed = false;
  const value = text.replace(REF, (match: string, body: string | undefined) => {
    if (match === '$${') return '${';
    if (body === undefined) {
      malformed = true;
      return match;
    }
    const sep = body.indexOf(':-');
    const name = sep === -1 ? body : body.slice(0, sep);
    if (!NAME.test(name)) {
      malformed = true;
      return match;
    }
    const v = env[name];
    if (sep !== -1) return v === undefined || v === '' ? body.slice(sep + 2) : v;
    if (v === undefined) {
      missing.push(name);
      return match;
    }
    return v;
  });
  if (missing.length > 0 || malformed) return { ok: false, missing, malformed };
  return { ok: true, value, changed: true };
}
