/**
 * Component descriptors. Every source, transform and delivery exports exactly one descriptor:
 * its kind name, a one-line summary, its zod config schema (every field described, with a
 * default where one makes sense; the inferred type is the config type) and a factory. The
 * pipeline validator, `hydrant validate` and the generated docs all read these descriptors.
 * Registries are plain lists (`src/sources/registry.ts`, ...): adding a component is one new
 * folder and one line there. No registration by import side effects.
 */
import type { z } from 'zod';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';
import type { StateStore } from '../state/state-store.ts';
import type { StreamLog } from '../stream/stream-log.ts';
import type { ObjectStore } from '../lake/object-store.ts';

/** What every factory receives besides its own config. */
export interface ComponentContext {
  /** The component's name in the pipeline file. */
  readonly name: string;
  /** Pipeline name. */
  readonly pipeline: string;
  /** Absolute data directory (stream log, state store, spill files). */
  readonly dataDir: string;
  readonly state: StateStore;
  readonly log: StreamLog;
  /** The lake's object store (shared by all deliveries). */
  readonly lake: ObjectStore;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /**
   * Sources only: the runner takes batches already encoded as stream records
   * (`SourceBatch.encoded`, see encoded-events.ts) because this source has no source-edge
   * transforms. A source may ignore it and always emit `events`.
   */
  readonly encodedBatches?: boolean;
}

/** A component's descriptor. */
export interface ComponentDescriptor<TConfig extends z.ZodType, TInstance> {
  /** snake_case kind used as `type:` in pipeline files (nouns for sources/deliveries, verbs for transforms). */
  readonly kind: string;
  /** One line for docs and `hydrant validate`. */
  readonly summary: string;
  /** Config schema without the `type` key; unknown keys must be rejected (`z.strictObject`). */
  readonly config: TConfig;
  create(config: z.output<TConfig>, ctx: ComponentContext): TInstance | Promise<TInstance>;
}
