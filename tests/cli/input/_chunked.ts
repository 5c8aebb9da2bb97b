/**
 * Helpers of the reader tests: text cut into byte chunks of any size, and a
 * reader run until it throws.
 *
 * @module
 */

const encoder = new TextEncoder();

/** Splits text into byte chunks of `size` so that every boundary case is crossed. */
export function chunks(text: string, size: number): Uint8Array[] {
  const bytes = encoder.encode(text);
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.slice(i, i + size));
  return out;
}

/** Reads every record until the parser throws; returns the records and the error. */
export async function readUntilError<T>(
  parser: AsyncIterable<T>,
): Promise<{ got: T[]; error: unknown }> {
  const got: T[] = [];
  try {
    for await (const record of parser) got.push(record);
  } catch (error) {
    return { got, error };
  }
  return { got, error: undefined };
}
