import { MemoryStateStore } from '../../src/state/memory-state-store.ts';
import { runStateStoreConformance } from './state-store-conformance.ts';

// The memory store is not durable: "reopen" hands back the same instance (close is a no-op),
// which is what its unit-test users rely on.
runStateStoreConformance('memory', async () => {
  const store = new MemoryStateStore();
  return { open: async () => store, cleanup: async () => {} };
});
