import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedStateStore } from '../../../src/state/embedded/embedded-state-store.ts';
import { runStateStoreConformance } from '../state-store-conformance.ts';

runStateStoreConformance('embedded', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'hydrant-state-'));
  return { open: () => EmbeddedStateStore.open({ dataDir }), openReadOnly: () => EmbeddedStateStore.openReadOnly({ dataDir }), cleanup: () => rm(dataDir, { recursive: true, force: true }) };
});

// Same suite with a tiny compaction threshold, so snapshots and journal rotation happen
// in the middle of every test.
runStateStoreConformance('embedded (compacting)', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'hydrant-state-'));
  return { open: () => EmbeddedStateStore.open({ dataDir, compactAfterBytes: 512 }), openReadOnly: () => EmbeddedStateStore.openReadOnly({ dataDir }), cleanup: () => rm(dataDir, { recursive: true, force: true }) };
});
