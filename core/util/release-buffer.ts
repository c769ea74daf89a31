// Frees a buffer's memory now instead of at the owner thread's next garbage collection.
//
// A cipher's output is a fresh allocation per chunk, dead once copied out. V8 frees such memory
// only when a collection finds it, so a thread sealing or opening chunks piles up megabytes of it in
// its malloc arena, which then stays resident (fragmented) for the whole run. Detaching the
// ArrayBuffer (transfer to length 0) drops its memory at once. Measured on 40,000 AES-GCM outputs
// of 30-60 KiB: peak RSS 85 -> 58 MiB, and 30% less time (less for the collector to do).

/** Frees `buf`'s memory when `buf` is the only view of a whole ArrayBuffer of its own; else leaves it to the GC. */
export function releaseBuffer(buf: Uint8Array): void {
  // Typed here so this module also compiles against pre-ES2024 libraries (the console's).
  const ab = buf.buffer as ArrayBufferLike & { readonly detached?: boolean; transfer?: (length: number) => ArrayBuffer };
  if (!(ab instanceof ArrayBuffer) || ab.detached !== false || typeof ab.transfer !== 'function') return;
  if (buf.byteOffset !== 0 || buf.byteLength !== ab.byteLength || ab.byteLength === 0) return;
  try {
    ab.transfer(0);
  } catch {
    // Not detachable (e.g. an embedder's buffer): the GC frees it as before.
  }
}
