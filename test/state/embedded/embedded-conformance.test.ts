import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedStateStore } from '../../../src/state/embedded/embedded-state-store.ts';
import { runStateStoreConformance } from '../state-store-conformance.ts';

runStateStoreConformance('embedded', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'hydrant-state-'));
  return { open: () => EmbeddedStateStore.open({ dataDir }), cleanup: () => rm(dataDir, { recursive: true, force: true }) };
});

// Same suite with a tiny compaction threshold, so snapshots and journal rotation happen
// in the middle of every test.
runStateStoreConformance('embedded (compacting)', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'hydrant-state-'));
  return { open: () => EmbeddedStateStore.open({ dataDir, compactAfterBytes: 512 }), cleanup: () => rm(dataDir, { recursive: true, force: true }) };
});
