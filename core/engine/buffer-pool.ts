// Fixed slots of shared memory for blocks in flight: bounds memory and lets threads read without a copy.

export interface Slot {
  view: Uint8Array;
  release(): void;
}

export class BufferPool {
  readonly #free: Uint8Array[] = [];
  readonly #waiters: Array<(u: Uint8Array) => void> = [];
  constructor(slotSize: number, count: number) {
    const shared = new SharedArrayBuffer(slotSize * count);
    for (let i = 0; i < count; i++) this.#free.push(new Uint8Array(shared, i * slotSize, slotSize));
  }
  async acquire(): Promise<Slot> {
    const view = this.#free.pop() ?? (await new Promise<Uint8Array>((resolve) => this.#waiters.push(resolve)));
    let released = false;
    return {
      view,
      release: () => {
        if (released) return;
        released = true;
        const next = this.#waiters.shift();
        if (next) next(view);
        else this.#free.push(view);
      },
    };
  }
}
