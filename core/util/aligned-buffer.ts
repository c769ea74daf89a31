// Page-aligned buffers, so large files can be written with O_DIRECT straight from them.
//
// On the VMs we run on, every page the kernel takes for the page cache is first faulted in from
// the host: writing a pack through the page cache cost ~2.4 CPU s per GiB in the kernel's copy,
// O_DIRECT ~0.1. O_DIRECT needs the memory, the file offset and the length aligned to the device's
// block, and node's Buffers promise no alignment. A WebAssembly.Memory is page-aligned by
// construction (and zero-filled), so buffers meant for direct writes are allocated as one.

/** Alignment that direct writes need for memory, file offsets and lengths (the usual page and file-system block). */
export const DIRECT_ALIGN = 4096;
const WASM_PAGE = 64 * 1024;
const alignedBuffers = new WeakSet<ArrayBufferLike>();
// The engine's WebAssembly global (its types come with the DOM library, which this project leaves out).
const { Memory } = (globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number; maximum: number }) => { buffer: ArrayBuffer } } }).WebAssembly;

/** A buffer of `size` bytes whose first byte lies on a page boundary (an ordinary buffer if the engine refuses). */
export function allocAligned(size: number): Buffer {
  const pages = Math.max(1, Math.ceil(size / WASM_PAGE));
  try {
    // A fixed maximum keeps the engine from reserving address space for growth.
    const memory = new Memory({ initial: pages, maximum: pages });
    alignedBuffers.add(memory.buffer);
    return Buffer.from(memory.buffer, 0, size);
  } catch {
    return Buffer.allocUnsafeSlow(size);
  }
}

/** True when `view` starts on a DIRECT_ALIGN boundary of a buffer from allocAligned. */
export function isAligned(view: Uint8Array): boolean {
  return alignedBuffers.has(view.buffer) && view.byteOffset % DIRECT_ALIGN === 0;
}

/** `n` rounded up to a whole number of DIRECT_ALIGN blocks. */
export const alignUp = (n: number): number => Math.ceil(n / DIRECT_ALIGN) * DIRECT_ALIGN;
