/**
 * {@link Router}: which output partition (buffer) a record goes to, from the delivery's
 * routing settings (prefix templates, time zone, layout). A buffer's identity is
 * `prefix | table | schema version [| load/cdc]`. Every committed object records the hash of
 * the routing that produced it, so a replay after a crash recognises records already written
 * even when the routing settings changed in between.
 */
import { createHash } from 'node:crypto';
import type { Envelope } from '../../core/change-event.ts';
import { PrefixTemplate, safeSegment, type PartitionInput } from '../partitioning.ts';
import { tableNameOf } from './rows.ts';

/** The settings that decide where a record goes. */
export interface RoutingSettings {
  readonly changes_prefix: string;
  readonly events_prefix: string;
  readonly time_zone: string;
  readonly layout: 'hydrant' | 'dms';
}

/** Where one record goes. */
export interface Route {
  readonly prefix: string;
  readonly id: string;
  readonly table: string;
  readonly version: number;
  readonly dms: boolean;
  readonly isLoad: boolean;
}

export class Router {
  readonly settings: RoutingSettings;
  /** Short stable hash of the settings (stored with every object). */
  readonly hash: string;
  readonly #changes: PrefixTemplate;
  readonly #events: PrefixTemplate;

  constructor(settings: RoutingSettings) {
    this.settings = { changes_prefix: settings.changes_prefix, events_prefix: settings.events_prefix, time_zone: settings.time_zone, layout: settings.layout };
    this.hash = createHash('sha256').update(JSON.stringify(this.settings)).digest('hex').slice(0, 16);
    this.#changes = new PrefixTemplate(settings.changes_prefix, settings.time_zone);
    this.#events = new PrefixTemplate(settings.events_prefix, settings.time_zone);
  }

  route(input: PartitionInput): Route {
    const e: Envelope = input.envelope;
    const dms = this.settings.layout === 'dms' && e.op !== 'event';
    const isLoad = e.op === 'snapshot';
    const prefix = e.op === 'event' ? this.#events.render(input) : dms ? `${safeSegment(e.source.schema)}/${safeSegment(e.source.table)}` : this.#changes.render(input);
    const table = tableNameOf(e);
    const version = e.op === 'event' ? 1 : e.schemaVersion;
    const id = `${prefix}|${table}|${version}${dms ? (isLoad ? '|load' : '|cdc') : ''}`;
    return { prefix, id, table, version, dms, isLoad };
  }
}

/** State-store key of a routing's settings. */
export function routingKey(delivery: string, hash: string): string {
  return `lake-routing/${delivery}/${hash}`;
}
