/**
 * Large read buffers handed back for reuse. On the machines this library is
 * measured on, the first touch of fresh memory costs more than the read that
 * fills it (each page is faulted in), so a file's message bodies are read into
 * buffers already touched once the batches that viewed them are done.
 *
 * @module
 */

/** Reads below this size take fresh memory: small allocations are recycled by the allocator anyway. */
const POOLED_BYTES = 1 << 16;

/** The most buffers kept free at once. */
const MAX_FREE = 8;

/** A free list of large byte buffers. */
export class BufferPool {
  readonly #free: ArrayBuffer[] = [];

  /**
   * A buffer of `length` bytes: a free one large enough when there is one
   * (the smallest such), else fresh memory. Its contents are unspecified.
   *
   * @param length The bytes wanted.
   * @returns A view of exactly `length` bytes, from offset 0 of its buffer.
   */
  acquire(length: number): Uint8Array {
    if (length >= POOLED_BYTES) {
      let best = -1;
      for (let i = 0; i < this.#free.length; i++) {
        const size = this.#free[i]!.byteLength;
        if (size >= length && (best === -1 || size < this.#free[best]!.byteLength)) best = i;
      }
      if (best !== -1) return new Uint8Array(this.#free.splice(best, 1)[0]!, 0, length);
    }
    return new Uint8Array(length);
  }

  /**
   * Hands a buffer back. The caller gives up every view of it.
   *
   * @param buffer A buffer {@linkcode acquire} returned a view of.
   */
  release(buffer: ArrayBufferLike): void {
    if (
      !(buffer instanceof ArrayBuffer) || buffer.byteLength < POOLED_BYTES ||
      this.#free.includes(buffer)
    ) return;
    if (this.#free.length === MAX_FREE) this.#free.shift();
    this.#free.push(buffer);
  }
}
