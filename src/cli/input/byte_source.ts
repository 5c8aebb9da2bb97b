/**
 * Byte input of any kind (a web stream, a node stream, an array of chunks)
 * read chunk by chunk, and decoded as UTF-8 text.
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

/**
 * Decodes byte chunks as UTF-8 text pieces, dropping a leading byte-order mark
 * and keeping multi-byte characters split across chunks intact.
 *
 * @param source The bytes.
 * @returns The text, piece by piece.
 */
export async function* decodeUtf8(source: ByteSource): AsyncGenerator<string> {
  // ignoreBOM false (the default) strips a leading U+FEFF.
  const decoder = new TextDecoder("utf-8");
  for await (const chunk of iterateChunks(source)) {
    const text = decoder.decode(chunk, { stream: true });
    if (text.length > 0) yield text;
  }
  const rest = decoder.decode();
  if (rest.length > 0) yield rest;
}
