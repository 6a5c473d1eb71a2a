/** The stream-log conformance suite against {@link EmbeddedStreamLog} on a temp data dir. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedStreamLog } from '../../../src/stream/embedded/embedded-stream-log.ts';
import type { StreamLog } from '../../../src/stream/stream-log.ts';
import { runStreamLogConformance } from '../stream-log-conformance.ts';

for (const segmentBytes of [64 << 20, 2048]) {
  runStreamLogConformance(`embedded (segment ${segmentBytes} B)`, async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'hydrant-log-'));
    // Tiny segments, blocks and index intervals exercise rolling, batches split into several
    // blocks, sealed-segment reads and the index.
    const open = (): EmbeddedStreamLog => new EmbeddedStreamLog({ dataDir, segmentBytes, indexIntervalBytes: segmentBytes < 4096 ? 256 : undefined, blockBytes: segmentBytes < 4096 ? 300 : undefined, retentionIntervalMs: 0 });
    let log: StreamLog = open();
    return {
      get log() {
        return log;
      },
      async reopen() {
        await log.close();
        log = open();
        return log;
      },
      async cleanup() {
        await log.close();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  });
}
