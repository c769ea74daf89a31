// Fixed slots of shared memory for blocks in flight: bounds memory and lets threads read without a copy.

export interface Slot {
  view: Uint8Array;
  /** Shared room for what the threads produce from `view` (sealed chunks); empty without an output size. */
  out: Uint8Array;
  release(): void;
}

export class BufferPool {
  readonly #free: Array<[Uint8Array, Uint8Array]> = [];
  readonly #waiters: Array<(u: [Uint8Array, Uint8Array]) => void> = [];
  /**
   * `outSize` bytes of output room per slot, also shared: threads write results there instead of
   * allocating a buffer per task that the main thread must collect (fewer major GCs of its heap).
   */
  constructor(slotSize: number, count: number, outSize = 0) {
    const shared = new SharedArrayBuffer((slotSize + outSize) * count);
    for (let i = 0; i < count; i++) {
      const at = i * (slotSize + outSize);
      this.#free.push([new Uint8Array(shared, at, slotSize), new Uint8Array(shared, at + slotSize, outSize)]);
    }
  }
  async acquire(): Promise<Slot> {
    const pair = this.#free.pop() ?? (await new Promise<[Uint8Array, Uint8Array]>((resolve) => this.#waiters.push(resolve)));
    const [view, out] = pair;
    let released = false;
    return {
      view,
      out,
      release: () => {
        if (released) return;
        released = true;
        const next = this.#waiters.shift();
        if (next) next(pair);
        else this.#free.push(pair);
      },
    };
  }
}
