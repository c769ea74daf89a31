// An in-memory ControlStore for tests and previews: the KvControlStore rules over a Map of JSON strings.
import { systemClock, type Clock } from '../../core/clock.ts';
import { throwIfAborted } from '../../core/errors.ts';
import { KvControlStore, type ControlItemTable } from '../../core/control/kv-control-store.ts';
import type { ControlIoOptions } from '../../core/control/control-store.ts';

/** Values are kept as JSON text, so callers never share objects with the store. */
class MemoryItemTable implements ControlItemTable {
  readonly description = 'memory://control';
  private readonly partitions = new Map<string, Map<string, string>>();

  async get(partition: string, key: string, options: ControlIoOptions = {}): Promise<unknown> {
    throwIfAborted(options.signal);
    const text = this.partitions.get(partition)?.get(key);
    return text === undefined ? undefined : JSON.parse(text);
  }

  // Runs without an await between read and write, so it is atomic on the event loop.
  async update<T>(partition: string, key: string, change: (current: unknown) => T | undefined, options: ControlIoOptions = {}): Promise<T | undefined> {
    throwIfAborted(options.signal);
    const items = this.partitions.get(partition) ?? new Map<string, string>();
    const text = items.get(key);
    const next = change(text === undefined ? undefined : JSON.parse(text));
    if (next === undefined) {
      items.delete(key);
      return undefined;
    }
    const stored = JSON.stringify(next);
    items.set(key, stored);
    this.partitions.set(partition, items);
    return JSON.parse(stored) as T;
  }

  async keys(partition: string, prefix: string, options: ControlIoOptions = {}): Promise<string[]> {
    throwIfAborted(options.signal);
    return [...(this.partitions.get(partition)?.keys() ?? [])].filter((key) => key.startsWith(prefix));
  }
}

export class MemoryControlStore extends KvControlStore {
  constructor(options: { clock?: Clock } = {}) {
    super(new MemoryItemTable(), options.clock ?? systemClock);
  }
}
