import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ComponentDescriptor } from '../../src/core/component.ts';
import { BackoffError, ConnectionError } from '../../src/core/errors.ts';
import { createLogger } from '../../src/core/logger.ts';
import type { Delivery, DeliveryCommitter, DeliveryRecord } from '../../src/delivery/delivery.ts';
import { fileDelivery } from '../../src/delivery/file/file-delivery.ts';
import { runtimeSpecFromPlain } from '../../src/runtime/build.ts';
import { PipelineRunner } from '../../src/runtime/pipeline-runner.ts';
import type { RuntimeSpec } from '../../src/runtime/runtime-spec.ts';
import { generatorSource } from '../../src/sources/generator/generator-source.ts';
import type { Source, SourceBatch } from '../../src/sources/source.ts';

const SEED = 77;
const COUNT = 1500;
console.log(`retries test seed=${SEED}`);

/** Wraps the generator: start() is throttled once, the 3rd next() loses its connection. */
function flakySource(): ComponentDescriptor<typeof generatorSource.config, Source> {
  return {
    ...generatorSource,
    async create(cfg, ctx) {
      const inner = await generatorSource.create(cfg, ctx);
      let starts = 0;
      let nexts = 0;
      return {
        async start(p: string | null) {
          if (starts++ === 0) throw new BackoffError('source says: slow down', 10);
          return inner.start(p);
        },
        async next(signal: AbortSignal): Promise<SourceBatch> {
          if (++nexts === 3) throw new ConnectionError('source connection reset by peer');
          return inner.next(signal);
        },
        ack: (p: string) => inner.ack(p),
        close: () => inner.close(),
      };
    },
  };
}

/** Wraps the file delivery: the first two writes fail with a lost connection, keeping nothing. */
function flakyDelivery(): ComponentDescriptor<typeof fileDelivery.config, Delivery> {
  return {
    ...fileDelivery,
    async create(cfg, ctx) {
      const inner = await fileDelivery.create(cfg, ctx);
      let writes = 0;
      return {
        start: (c: DeliveryCommitter) => inner.start(c),
        async write(shardId: string, records: readonly DeliveryRecord[]) {
          if (writes++ < 2) throw new ConnectionError('delivery target unreachable');
          return inner.write(shardId, records);
        },
        flush: () => inner.flush(),
        close: () => inner.close(),
      };
    },
  };
}

test('ConnectionError and BackoffError from a source and a delivery are retried with logs; nothing lost or duplicated', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hydrant-retries-'));
  try {
    const base = runtimeSpecFromPlain({
      name: 'retries',
      streams: { changes: { shards: 2 } },
      sources: { shop: { type: 'generator', stream: 'changes', seed: SEED, count: COUNT, batch_size: 100 } },
      deliveries: { out: { type: 'file', stream: 'changes', max_age: 0 } },
    }, dir);
    const spec: RuntimeSpec = {
      ...base,
      sources: { shop: { ...base.sources['shop']!, descriptor: flakySource() } },
      deliveries: { out: { ...base.deliveries['out']!, descriptor: flakyDelivery() } },
    };
    const lines: string[] = [];
    const runner = await PipelineRunner.open(spec, { untilCaughtUp: true, logger: createLogger({ level: 'info', sink: (l) => lines.push(l) }) });
    assert.equal((await runner.run()).reason, 'caught-up');
    const warn = lines.map((l) => JSON.parse(l) as { level: string; msg: string }).filter((l) => l.level === 'warn').map((l) => l.msg);
    assert.ok(warn.some((m) => /source shop: start: source says: slow down; retrying in 10 ms/.test(m)), warn.join('\n'));
    assert.ok(warn.some((m) => /source shop: next: source connection reset by peer; retrying/.test(m)));
    assert.equal(warn.filter((m) => /delivery out: write .*delivery target unreachable; retrying/.test(m)).length, 2);
    assert.ok(lines.some((l) => l.includes('recovered')));
    const root = join(dir, 'files', 'out');
    const positions: string[] = [];
    for (const shard of await readdir(root)) for (const f of await readdir(join(root, shard))) for (const l of (await readFile(join(root, shard, f), 'utf8')).split('\n')) if (l !== '') positions.push((JSON.parse(l) as { source: { position: string } }).source.position);
    assert.equal(positions.length, COUNT);
    assert.equal(new Set(positions).size, COUNT);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a non-retryable error stops the pipeline: run() rejects with it after closing everything', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hydrant-fatal-'));
  try {
    const base = runtimeSpecFromPlain({
      name: 'fatal',
      streams: { changes: { shards: 1 } },
      sources: { shop: { type: 'generator', stream: 'changes', seed: SEED, count: 0, rate: 1000 } },
      deliveries: { out: { type: 'file', stream: 'changes' } },
    }, dir);
    const broken: ComponentDescriptor<typeof fileDelivery.config, Delivery> = {
      ...fileDelivery,
      create: () => ({
        start: async () => {},
        write: async () => {
          throw new Error('disk on fire');
        },
        flush: async () => {},
        close: async () => {},
      }),
    };
    const spec: RuntimeSpec = { ...base, deliveries: { out: { ...base.deliveries['out']!, descriptor: broken } } };
    const runner = await PipelineRunner.open(spec, { logger: createLogger({ level: 'error', sink: () => {} }) });
    await assert.rejects(runner.run(), /disk on fire/);
    // The stores were closed (the state store's lock released): the pipeline can be reopened.
    const again = await PipelineRunner.open(base, { untilCaughtUp: true, logger: createLogger({ level: 'error', sink: () => {} }) });
    await again.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
