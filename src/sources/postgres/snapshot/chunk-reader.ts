/**
 * Reads one chunk with `COPY (SELECT ...) TO STDOUT (FORMAT binary)` and hands every decoded
 * row to a callback as it arrives. `onCopy` receives the running COPY so the caller can pause
 * its socket while it is behind (backpressure reaches the server, memory stays bounded).
 */
import pg from 'pg';
import { ConnectionError } from '../../../core/errors.ts';
import type { Row } from '../../../core/values.ts';
import { SESSION_OPTIONS, type ReplicationConnectOptions } from '../replication-connection.ts';
import { chunkCopySql, type Chunk } from './chunk-planner.ts';
import { CopyBinaryDecoder, type JsonRows } from './copy-binary.ts';
import { copyOut, type CopyOut } from './copy-out.ts';
import type { SnapshotTable } from './snapshot-table.ts';

/** Reads a chunk; resolves with the number of rows read. With `json`, rows go to `json.onRow` as JSON instead. */
export async function readChunk(client: pg.Client, t: SnapshotTable, by: 'key' | 'ctid', chunk: Chunk, onRow: (row: Row) => void, onCopy?: (c: CopyOut | undefined) => void, json?: JsonRows): Promise<number> {
  const decoder = new CopyBinaryDecoder(t.columns, onRow, json);
  const copy = copyOut(client, chunkCopySql(t, by, chunk), (b, start, end) => decoder.pushRange(b, start, end));
  onCopy?.(copy);
  try {
    await copy.done;
  } finally {
    onCopy?.(undefined);
  }
  decoder.finish();
  return decoder.rows;
}

/** Opens a normal connection for snapshot reads, with the session settings the text parsers expect. */
export async function connectReader(o: ReplicationConnectOptions, purpose: string): Promise<pg.Client> {
  const client = new pg.Client({ host: o.host, port: o.port, database: o.database, user: o.user, password: o.password, application_name: `${o.applicationName ?? 'hydrant'} ${purpose}`, options: SESSION_OPTIONS });
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => {});
    throw new ConnectionError(`snapshot: cannot connect to PostgreSQL at ${o.host}:${o.port}/${o.database} as ${o.user}: ${(err as Error).message}`, { cause: err });
  }
  // An error on an idle connection must not crash the process; the next query reports it.
  client.on('error', () => {});
  return client;
}
