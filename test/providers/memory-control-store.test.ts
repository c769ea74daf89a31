// Runs the ControlStore contract over MemoryControlStore.
import { MemoryControlStore } from '../../providers/memory/memory-control-store.ts';
import { describeControlStoreContract } from '../support/control-store-contract.ts';

describeControlStoreContract('MemoryControlStore', async (clock) => ({ store: new MemoryControlStore({ clock }), cleanup: async () => {} }));
