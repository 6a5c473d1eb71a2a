/**
 * The embedded store's directory layout and file headers. Every file starts with a header
 * frame naming its format, version and generation, so a future format change is detected
 * instead of misread.
 *
 * ```
 * <data_dir>/state/LOCK                      owner pid + host (single writer)
 * <data_dir>/state/snapshot-<gen>.snap       every key as of the start of generation <gen>
 * <data_dir>/state/journal-<gen>.log         transactions committed during generation <gen>
 * ```
 * State = newest snapshot + every journal of that generation or later, replayed in order.
 */
import { join } from 'node:path';

/** Version of the journal and snapshot formats written by this code. */
export const STATE_FORMAT_VERSION = 1;

export const JOURNAL_FORMAT = 'hydrant-state-journal';
export const SNAPSHOT_FORMAT = 'hydrant-state-snapshot';

/** Header frame payload of journal and snapshot files. */
export interface FileHeader {
  readonly format: string;
  readonly version: number;
  readonly generation: number;
}

const GEN_DIGITS = 12;

export function journalName(gen: number): string {
  return `journal-${String(gen).padStart(GEN_DIGITS, '0')}.log`;
}

export function snapshotName(gen: number): string {
  return `snapshot-${String(gen).padStart(GEN_DIGITS, '0')}.snap`;
}

/** Classifies a directory entry; `tmp` files are leftovers of an interrupted write. */
export function parseStateFileName(name: string): { kind: 'journal' | 'snapshot'; gen: number } | { kind: 'tmp' } | undefined {
  const m = /^(journal|snapshot)-(\d{12})\.(log|snap)$/.exec(name);
  if (m !== null && (m[1] === 'journal') === (m[3] === 'log')) return { kind: m[1] as 'journal' | 'snapshot', gen: Number(m[2]) };
  if (name.endsWith('.tmp')) return { kind: 'tmp' };
  return undefined;
}

/** Checks a parsed header frame; returns a reason when it does not match. */
export function headerProblem(payload: unknown, format: string, gen: number): string | undefined {
  const h = payload as Partial<FileHeader> | null;
  if (h === null || typeof h !== 'object' || h.format !== format) return `is not a ${format} file`;
  if (h.version !== STATE_FORMAT_VERSION) return `has format version ${String(h.version)}, this Hydrant reads version ${STATE_FORMAT_VERSION}; use a matching Hydrant release`;
  if (h.generation !== gen) return `says generation ${String(h.generation)} but its name says ${gen}`;
  return undefined;
}

export { fsyncDir } from '../../core/fs-sync.ts';

export function statePath(dir: string, name: string): string {
  return join(dir, name);
}
