/**
 * Byte input of any kind (a web stream, a node stream, an array of chunks)
 * read chunk by chunk.
 *
 * @module
 */

/** A source of bytes: a web stream, or any (async) iterable of chunks such as a node stream. */
export type ByteSource =
  | ReadableStream<Uint8Array>
  | AsyncIterable<Uint8Array>
  | Iterable<Uint8Array>;

/** Iterates the chunks of any {@linkcode ByteSource}. */
export async function* iterateChunks(source: ByteSource): AsyncGenerator<Uint8Array> {
  if (Symbol.asyncIterator in source || Symbol.iterator in source) {
    yield* source as AsyncIterable<Uint8Array>;
    return;
  }
  const reader = (source as ReadableStream<Uint8Array>).getReader();
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}
