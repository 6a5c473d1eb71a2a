/**
 * The part of a loaded pipeline the runner needs. `loadPipeline` (src/config/) produces the
 * full spec; {@link RuntimeSpec} is the narrow structural subset, so the runner can also be
 * driven from code (the demo, tests) without a file.
 */
import type { ComponentDescriptor } from '../core/component.ts';
import type { LakeConfig } from '../lake/lake-config.ts';
import type { CurrentStateConfig } from './current-state-config.ts';

/** A component entry: its kind and its already validated config. */
export interface ComponentSpec {
  readonly type: string;
  /** The descriptor to build it with; looked up in the registry by `type` when absent. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly descriptor?: ComponentDescriptor<any, unknown>;
  /** Config as validated by the descriptor's schema (defaults applied). */
  readonly config: unknown;
}

/** A source or delivery: a component on a stream, with the transforms of its edge. */
export interface EdgeComponentSpec extends ComponentSpec {
  readonly stream: string;
  /** Names of top-level transforms, applied in order. */
  readonly transforms: readonly string[];
}

/** A stream: shard count and retention (ms / bytes, as `loadPipeline` parses them). */
export interface StreamRuntimeSpec {
  readonly shards: number;
  readonly retention_age?: number;
  readonly retention_bytes?: number | undefined;
  readonly retention_policy?: 'delete' | 'hold';
}

/** What the runner builds and runs. */
export interface RuntimeSpec {
  readonly name: string;
  /** Absolute data directory (stream log, state store, file outputs). */
  readonly dataDir: string;
  readonly lake: LakeConfig;
  readonly streams: Readonly<Record<string, StreamRuntimeSpec>>;
  /** State store settings (`compact_after` in bytes). */
  readonly state?: { readonly compact_after?: number };
  /** Merging current-state tables while running (off when absent). */
  readonly currentState?: CurrentStateConfig;
  readonly sources: Readonly<Record<string, EdgeComponentSpec>>;
  readonly transforms: Readonly<Record<string, ComponentSpec>>;
  readonly deliveries: Readonly<Record<string, EdgeComponentSpec>>;
}
