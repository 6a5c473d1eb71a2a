/**
 * The validated pipeline, as the runner consumes it. `loadPipeline(file)` returns one; every
 * component's `config` has already been parsed by its descriptor's schema (defaults applied,
 * durations in ms, sizes in bytes), so the runner only calls `descriptor.create(config, ctx)`.
 */
import type { ComponentDescriptor } from '../core/component.ts';
import type { Delivery } from '../delivery/delivery.ts';
import type { LakeConfig } from '../lake/lake-config.ts';
import type { CurrentStateConfig } from '../runtime/current-state-config.ts';
import type { Source } from '../sources/source.ts';
import type { Transform } from '../transforms/transform.ts';
import type { StateConfig, StreamConfig } from './pipeline-schema.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDescriptor<T> = ComponentDescriptor<any, T>;

/** A configured component: its name, kind, descriptor and parsed config. */
export interface ComponentSpec<T> {
  /** Name in the pipeline file (the key under `sources:` ...). */
  readonly name: string;
  /** Kind (`type:`). */
  readonly type: string;
  readonly descriptor: AnyDescriptor<T>;
  /** Output of `descriptor.config`, without the edge keys (`type`, `stream`, `transforms`). */
  readonly config: unknown;
}

/** A source: appends to `stream` after applying `transforms` (names, in order). */
export interface SourceSpec extends ComponentSpec<Source> {
  readonly stream: string;
  readonly transforms: readonly string[];
}

/** A delivery: reads `stream` and applies `transforms` (names, in order) before writing. */
export interface DeliverySpec extends ComponentSpec<Delivery> {
  readonly stream: string;
  readonly transforms: readonly string[];
}

/** A named transform, referenced from source and delivery edges. */
export type TransformSpec = ComponentSpec<Transform>;

/** A stream and its settings (`retention_age` in ms, `retention_bytes` in bytes). */
export interface StreamSpec extends StreamConfig {
  readonly name: string;
}

/** A whole validated pipeline file. */
export interface PipelineSpec {
  /** Absolute path of the pipeline file (`<text>` when validated from a string). */
  readonly file: string;
  readonly name: string;
  /** Absolute data directory (resolved against the file's directory). */
  readonly dataDir: string;
  /** The `lake` section; open it with `openObjectStore(lake, dataDir)` from src/lake/lake-config.ts. */
  readonly lake: LakeConfig;
  /** The `state` section (`compact_after` in bytes). */
  readonly state: StateConfig;
  /** The `current_state` section: merging current-state tables inside `hydrant run` (durations in ms). */
  readonly currentState: CurrentStateConfig;
  readonly streams: Readonly<Record<string, StreamSpec>>;
  readonly sources: Readonly<Record<string, SourceSpec>>;
  readonly transforms: Readonly<Record<string, TransformSpec>>;
  readonly deliveries: Readonly<Record<string, DeliverySpec>>;
}

/** The component lists validation looks kinds up in (the registries, or test doubles). */
export interface ComponentRegistries {
  readonly sources: ReadonlyArray<AnyDescriptor<Source>>;
  readonly transforms: ReadonlyArray<AnyDescriptor<Transform>>;
  readonly deliveries: ReadonlyArray<AnyDescriptor<Delivery>>;
}
