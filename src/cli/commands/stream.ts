/**
 * `hydrant stream`: look into the embedded stream log of a pipeline and move consumers.
 *
 * ```
 * hydrant stream list     FILE | --data-dir DIR
 * hydrant stream describe FILE | --data-dir DIR STREAM [--json]
 * hydrant stream read     FILE | --data-dir DIR STREAM [--shard ID] [--from POSITION] [--max N]
 * hydrant stream reset    FILE | --data-dir DIR STREAM CONSUMER --to POSITION [--shard ID]
 * ```
 * POSITION: TRIM_HORIZON | LATEST | AT_SEQUENCE_NUMBER=SEQ | AFTER_SEQUENCE_NUMBER=SEQ |
 * AT_TIMESTAMP=<ISO time or epoch ms>. The log and, for `describe`, the state store are opened
 * read-only (safe beside a running pipeline); `reset` writes the state store, which a running
 * pipeline holds locked.
 */
import { parseArgs } from 'node:util';
import { loadPipeline } from '../../config/load-pipeline.ts';
import { HydrantError } from '../../core/errors.ts';
import { EmbeddedStateStore } from '../../state/embedded/embedded-state-store.ts';
import type { StateStore } from '../../state/state-store.ts';
import { ConsumerCheckpoints, listStreamCheckpoints, type ResetTarget } from '../../stream/consumer-checkpoints.ts';
import { consumerLag } from '../../stream/consumer-lag.ts';
import { EmbeddedStreamLog } from '../../stream/embedded/embedded-stream-log.ts';
import type { ShardIterator, StreamRecord } from '../../stream/stream-log.ts';
import type { Command } from '../command.ts';
import { UsageError } from './run.ts';

const USAGE = `usage:
  hydrant stream list     FILE | --data-dir DIR
  hydrant stream describe FILE | --data-dir DIR STREAM [--json]
  hydrant stream read     FILE | --data-dir DIR STREAM [--shard ID] [--from POSITION] [--max N]
  hydrant stream reset    FILE | --data-dir DIR STREAM CONSUMER --to POSITION [--shard ID]
POSITION: TRIM_HORIZON | LATEST | AT_SEQUENCE_NUMBER=SEQ | AFTER_SEQUENCE_NUMBER=SEQ | AT_TIMESTAMP=<ISO time | epoch ms>`;

/** Where output goes (tests pass a collector). */
export type Out = (text: string) => void;

/** Parses a POSITION argument. */
export function parsePosition(text: string): ResetTarget {
  const [kind, value] = text.includes('=') ? [text.slice(0, text.indexOf('=')).toUpperCase(), text.slice(text.indexOf('=') + 1)] : [text.toUpperCase(), undefined];
  if ((kind === 'TRIM_HORIZON' || kind === 'LATEST') && value === undefined) return { type: kind };
  if ((kind === 'AT_SEQUENCE_NUMBER' || kind === 'AFTER_SEQUENCE_NUMBER') && value !== undefined && /^[0-9]+$/.test(value)) return { type: kind, sequence: value };
  if (kind === 'AT_TIMESTAMP' && value !== undefined) {
    const ms = /^[0-9]+$/.test(value) ? Number(value) : Date.parse(value);
    if (Number.isFinite(ms)) return { type: 'AT_TIMESTAMP', timestamp: ms };
  }
  throw new UsageError(`position ${JSON.stringify(text)} is not one of TRIM_HORIZON, LATEST, AT_SEQUENCE_NUMBER=SEQ, AFTER_SEQUENCE_NUMBER=SEQ, AT_TIMESTAMP=<ISO time | epoch ms>`);
}

async function openState(dataDir: string, mode: 'read' | 'write'): Promise<StateStore> {
  try {
    return mode === 'read' ? await EmbeddedStateStore.openReadOnly({ dataDir }) : await EmbeddedStateStore.open({ dataDir });
  } catch (err) {
    throw new HydrantError('STATE_UNAVAILABLE', `cannot open the state store in ${dataDir} (${(err as Error).message}); consumer checkpoints need it. Stop the pipeline that holds it, then retry.`, { cause: err });
  }
}

function recordJson(stream: string, r: StreamRecord): string {
  let data: string;
  let encoding: 'utf8' | 'base64' = 'utf8';
  try {
    data = new TextDecoder('utf-8', { fatal: true }).decode(r.data);
  } catch {
    data = Buffer.from(r.data).toString('base64');
    encoding = 'base64';
  }
  return JSON.stringify({ stream, shardId: r.shardId, sequence: r.sequence, partitionKey: r.partitionKey, arrivalTime: new Date(r.arrivalTime).toISOString(), data, encoding });
}

function table(rows: readonly (readonly string[])[]): string {
  const w = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i] as number))).join('  ')).join('\n');
}

/** Runs `hydrant stream ...` with output to `out`; resolves to the exit code. */
export async function runStream(args: readonly string[], out: Out): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      options: { 'data-dir': { type: 'string' }, shard: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, max: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  const [sub, ...rest] = positionals;
  if (values.help === true || sub === undefined) {
    out(USAGE + '\n');
    return sub === undefined && values.help !== true ? 2 : 0;
  }
  let dataDir = values['data-dir'];
  if (dataDir === undefined) {
    const file = rest.shift();
    if (file === undefined) throw new UsageError(`hydrant stream ${sub} needs a pipeline FILE or --data-dir DIR\n${USAGE}`);
    dataDir = (await loadPipeline(file)).dataDir;
  }
  const log = new EmbeddedStreamLog({ dataDir, readOnly: true });
  try {
    switch (sub) {
      case 'list': {
        const rows = [['STREAM', 'SHARDS (OPEN/ALL)', 'RECORDS', 'BYTES']];
        for (const name of await log.listStreams()) {
          const d = await log.describeStream(name);
          let records = 0;
          let bytes = 0;
          for (const s of d.shards) {
            const i = await log.shardInfo(name, s.shardId);
            records += i.records;
            bytes += i.bytes;
          }
          rows.push([name, `${d.shards.filter((s) => !s.closed).length}/${d.shards.length}`, String(records), String(bytes)]);
        }
        out(table(rows) + '\n');
        return 0;
      }
      case 'describe': {
        const [stream] = rest;
        if (stream === undefined) throw new UsageError(`hydrant stream describe needs a STREAM\n${USAGE}`);
        const d = await log.describeStream(stream);
        const shards = [];
        for (const s of d.shards) shards.push({ ...s, ...(await log.shardInfo(stream, s.shardId)) });
        const consumers: Array<{ consumer: string; lag: Awaited<ReturnType<typeof consumerLag>> }> = [];
        // Read-only, so a running pipeline does not stand in the way; if the state cannot be read
        // at all, still describe the stream and say why consumers are missing.
        let consumersUnavailable: string | undefined;
        const state = await openState(dataDir, 'read').catch((err: unknown) => {
          consumersUnavailable = (err as Error).message;
          return undefined;
        });
        if (state !== undefined) {
          try {
            for (const consumer of (await listStreamCheckpoints(state, stream)).keys()) consumers.push({ consumer, lag: await consumerLag(log, state, stream, consumer) });
          } finally {
            await state.close();
          }
        }
        if (values.json === true) {
          out(JSON.stringify({ name: d.name, createdAt: new Date(d.createdAt).toISOString(), shards, consumers, ...(consumersUnavailable === undefined ? {} : { consumersUnavailable }) }, null, 2) + '\n');
          return 0;
        }
        out(`stream ${d.name} (created ${new Date(d.createdAt).toISOString()})\n\n`);
        out(table([['SHARD', 'STATE', 'PARENTS', 'HASH KEY RANGE', 'FIRST SEQ', 'LAST SEQ', 'RECORDS', 'BYTES'], ...shards.map((s) => [s.shardId, s.closed ? 'closed' : 'open', s.parentShardIds.join(',') || '-', `${s.hashKeyRange.start}..${s.hashKeyRange.end}`, s.firstSequence ?? '-', s.lastSequence ?? '-', String(s.records), String(s.bytes)])]) + '\n');
        if (consumersUnavailable !== undefined) out(`\nconsumers unavailable: ${consumersUnavailable}\n`);
        else out(consumers.length === 0 ? '\nno named consumers\n' : '\n' + table([['CONSUMER', 'SHARD', 'LAG RECORDS', 'LAG MS (ITERATOR AGE)'], ...consumers.flatMap((c) => c.lag.map((l) => [c.consumer, l.shardId, String(l.records), String(l.millis)]))]) + '\n');
        return 0;
      }
      case 'read': {
        const [stream] = rest;
        if (stream === undefined) throw new UsageError(`hydrant stream read needs a STREAM\n${USAGE}`);
        const from = parsePosition(values.from ?? 'TRIM_HORIZON') as ShardIterator;
        const max = values.max === undefined ? 100 : Number(values.max);
        if (!Number.isInteger(max) || max < 1) throw new UsageError(`--max needs a positive integer, found ${JSON.stringify(values.max)}`);
        const d = await log.describeStream(stream);
        const shardIds = values.shard === undefined ? d.shards.map((s) => s.shardId) : [values.shard];
        for (const shardId of shardIds) {
          let it: ShardIterator | null = from;
          let left = max;
          while (it !== null && left > 0) {
            const r = await log.read(stream, shardId, it, { maxRecords: Math.min(left, 1000) });
            if (r.records.length === 0) break;
            out(r.records.map((x) => recordJson(stream, x)).join('\n') + '\n');
            left -= r.records.length;
            it = r.next;
          }
        }
        return 0;
      }
      case 'reset': {
        const [stream, consumer] = rest;
        if (stream === undefined || consumer === undefined || values.to === undefined) throw new UsageError(`hydrant stream reset needs STREAM CONSUMER --to POSITION\n${USAGE}`);
        const target = parsePosition(values.to);
        const state = await openState(dataDir, 'write');
        try {
          const result = await new ConsumerCheckpoints(state, stream, consumer).reset(log, target, values.shard === undefined ? undefined : [values.shard]);
          if (result.size === 0) throw new UsageError(`stream ${stream} has no shard ${JSON.stringify(values.shard)}`);
          out(table([['SHARD', 'RESUMES AFTER'], ...[...result].map(([shard, c]) => [shard, c.after ?? '(start: TRIM_HORIZON)'])]) + '\n');
        } finally {
          await state.close();
        }
        return 0;
      }
      default:
        throw new UsageError(`unknown subcommand ${JSON.stringify(sub)}\n${USAGE}`);
    }
  } finally {
    await log.close();
  }
}

export const streamCommand: Command = {
  name: 'stream',
  summary: 'list, describe, read streams; reset a consumer to a position or time',
  usage: 'hydrant stream list|describe|read|reset FILE|--data-dir DIR ...',
  run: (args) => runStream(args, (t) => process.stdout.write(t)),
};
