import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeEnvelope, envelopeToJson } from '../../../src/core/change-event.ts';
import { createLogger } from '../../../src/core/logger.ts';
import { Metrics } from '../../../src/core/metrics.ts';
import type { DeliveryCommitter, DeliveryRecord } from '../../../src/delivery/delivery.ts';
import { FileDelivery, fileDelivery, type FileDeliveryConfig } from '../../../src/delivery/file/file-delivery.ts';
import { Workload } from '../../../src/sources/generator/workload.ts';
import { formatSequence } from '../../../src/stream/sequence.ts';

const SEED = 7;
console.log(`file delivery test seed=${SEED}`);
const logger = createLogger({ level: 'error' });

function records(shard: string, n: number): DeliveryRecord[] {
  const w = new Workload(SEED, { source: 'gen', database: 'shop', schema: 'public', startMillis: 0 });
  return Array.from({ length: n }, (_, i) => {
    const envelope = w.next();
    return { envelope, record: { partitionKey: 'k', data: encodeEnvelope(envelope), arrivalTime: 0, sequence: formatSequence(i + 1), shardId: shard } };
  });
}

class Committer implements DeliveryCommitter {
  readonly checkpoints = new Map<string, string>();
  failNext = false;
  async commit(shardId: string, sequence: string): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('simulated crash before the checkpoint commit');
    }
    this.checkpoints.set(shardId, sequence);
  }
}

function make(dir: string, over: Record<string, unknown> = {}): FileDelivery {
  const cfg = fileDelivery.config.parse({ path: dir, max_records: 3, max_age: 0, ...over }) as FileDeliveryConfig;
  return new FileDelivery('out', dir, cfg, logger, new Metrics());
}

async function listing(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const shard of await readdir(dir)) for (const f of await readdir(join(dir, shard))) out[`${shard}/${f}`] = await readFile(join(dir, shard, f), 'utf8');
  return out;
}

test('writes envelopes as JSON lines, cut by max_records, then commits each file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hydrant-file-'));
  try {
    const d = make(dir);
    const c = new Committer();
    await d.start(c);
    const recs = records('shard-0', 7);
    await d.write('shard-0', recs.slice(0, 4));
    await d.write('shard-0', recs.slice(4));
    assert.equal(c.checkpoints.get('shard-0'), formatSequence(6));
    await d.flush();
    assert.equal(c.checkpoints.get('shard-0'), formatSequence(7));
    await d.close();
    const files = await listing(dir);
    assert.deepEqual(Object.keys(files), [
      `shard-0/out-shard-0-${formatSequence(1)}-${formatSequence(3)}.jsonl`,
      `shard-0/out-shard-0-${formatSequence(4)}-${formatSequence(6)}.jsonl`,
      `shard-0/out-shard-0-${formatSequence(7)}-${formatSequence(7)}.jsonl`,
    ]);
    assert.equal(Object.values(files).join(''), recs.map((r) => envelopeToJson(r.envelope) + '\n').join(''));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a crash after rename and before commit: the retry rewrites the identical file, even across a different cut', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hydrant-file-'));
  try {
    const recs = records('s', 8);
    // First run: a flush cuts after 2 records (as a timed cut would), and the commit "crashes".
    const a = make(dir);
    const ca = new Committer();
    await a.start(ca);
    await a.write('s', recs.slice(0, 2));
    ca.failNext = true;
    await assert.rejects(a.flush());
    await a.close();
    assert.equal(ca.checkpoints.get('s'), undefined);
    const before = await listing(dir);
    assert.equal(Object.keys(before).length, 1);
    // Restart: the runner hands over everything after the (absent) checkpoint again.
    const b = make(dir);
    const cb = new Committer();
    await b.start(cb);
    await b.write('s', recs);
    await b.flush();
    await b.close();
    const after = await listing(dir);
    assert.equal(after[Object.keys(before)[0]!], Object.values(before)[0], 'the leftover file was rewritten identically');
    assert.deepEqual(Object.keys(after), [
      `s/out-s-${formatSequence(1)}-${formatSequence(2)}.jsonl`,
      `s/out-s-${formatSequence(3)}-${formatSequence(5)}.jsonl`,
      `s/out-s-${formatSequence(6)}-${formatSequence(8)}.jsonl`,
    ]);
    assert.equal(Object.values(after).join(''), recs.map((r) => envelopeToJson(r.envelope) + '\n').join(''), 'every record exactly once');
    assert.equal(cb.checkpoints.get('s'), formatSequence(8));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('flush keeps a pinned buffer that has not reached its earlier boundary (no overlapping file)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hydrant-file-'));
  try {
    const recs = records('s', 3);
    const a = make(dir);
    const ca = new Committer();
    await a.start(ca);
    ca.failNext = true;
    await assert.rejects(a.write('s', recs));
    const b = make(dir);
    const cb = new Committer();
    await b.start(cb);
    await b.write('s', recs.slice(0, 2));
    await b.flush();
    assert.equal(cb.checkpoints.get('s'), undefined, 'nothing committed: records 1..2 are a prefix of the leftover file 1..3');
    assert.equal(Object.keys(await listing(dir)).length, 1);
    await b.write('s', recs.slice(2));
    assert.equal(cb.checkpoints.get('s'), formatSequence(3));
    await b.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('max_age writes out an idle buffer', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hydrant-file-'));
  try {
    const d = make(dir, { max_records: 1000, max_age: '20ms' });
    const c = new Committer();
    await d.start(c);
    await d.write('s', records('s', 2));
    while (c.checkpoints.get('s') === undefined) await new Promise((r) => setTimeout(r, 10));
    assert.equal(c.checkpoints.get('s'), formatSequence(2));
    await d.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
