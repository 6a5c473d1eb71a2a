/** The `anonymize` transform's descriptor. */
import type { ComponentDescriptor } from '../../core/component.ts';
import type { Transform } from '../transform.ts';
import { Anonymizer } from './anonymizer.ts';
import { anonymizeConfig } from './config.ts';
import { loadSecret } from './secret.ts';

/** `type: anonymize`: redact, mask, hash, pseudonymize, tokenize, generalize or drop columns. */
export const anonymize: ComponentDescriptor<typeof anonymizeConfig, Transform> = {
  kind: 'anonymize',
  summary: 'Anonymize columns by name pattern (redact, mask, hash, keyed pseudonymize, format-preserving tokenize, generalize, drop) before anything is stored',
  config: anonymizeConfig,
  create(config, ctx) {
    const key = config.key === undefined ? undefined : loadSecret(config.key);
    ctx.logger.info('anonymize rules loaded', { rules: config.rules.length, keyed: key !== undefined, keySource: config.key?.env !== undefined ? `env:${config.key.env}` : config.key?.file !== undefined ? 'file' : 'none' });
    return new Anonymizer(config, key, ctx.state);
  },
};
