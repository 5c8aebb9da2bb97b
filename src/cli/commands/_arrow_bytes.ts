/**
 * The bytes of an Arrow IPC input for `monitor`, read front to back and
 * counted: an IPC stream as it is, an IPC file as the stream it holds (the
 * file's body is an IPC stream between its leading magic and its footer), so
 * that a file, a pipe and standard input are all read message by message,
 * never whole. What the reader cannot tell is checked at the end: a stream
 * cut between two messages lacks its end-of-stream marker, a file cut
 * anywhere lacks its closing magic.
 *
 * @module
 */

import { InputError } from "../errors.ts";

const MAGIC = [0x41, 0x52, 0x52, 0x4f, 0x57, 0x31]; // "ARROW1"
/** The file's magic with its padding to 8 bytes, before the stream. */
const FILE_PREFIX = 8;
const TAIL = 8;

function endsWith(bytes: Uint8Array, suffix: readonly number[]): boolean {
  const start = bytes.length - suffix.length;
  return start >= 0 && suffix.every((byte, i) => bytes[start + i] === byte);
}

/** The IPC byte chunks of an input, counted, with the checks of its end. */
export class ArrowBytes implements AsyncIterable<Uint8Array> {
  readonly #source: AsyncIterator<Uint8Array>;
  readonly #label: string;
  #read = 0;
  #head: Uint8Array | undefined = new Uint8Array(0);
  #file = false;
  #tail = new Uint8Array(0);
  #ended = false;

  /**
   * Wraps byte chunks.
   *
   * @param chunks The input's bytes.
   * @param label How the input is named in messages.
   */
  constructor(chunks: AsyncIterable<Uint8Array>, label: string) {
    this.#source = chunks[Symbol.asyncIterator]();
    this.#label = label;
  }

  /** Bytes consumed so far. */
  bytesRead(): number {
    return this.#read;
  }

  /**
   * The chunks; returning early leaves the input open (see
   * {@linkcode ArrowBytes.finish} and {@linkcode ArrowBytes.close}).
   */
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return {
      next: () => this.#next(),
      return: () => Promise.resolve({ done: true, value: undefined }),
    };
  }

  async #pull(): Promise<Uint8Array | undefined> {
    if (this.#ended) return undefined;
    const next = await this.#source.next();
    if (next.done) {
      this.#ended = true;
      return undefined;
    }
    const chunk = next.value;
    this.#read += chunk.byteLength;
    const joined = new Uint8Array(Math.min(TAIL, this.#tail.length + chunk.length));
    const fromTail = joined.length - Math.min(chunk.length, joined.length);
    joined.set(this.#tail.subarray(this.#tail.length - fromTail), 0);
    joined.set(chunk.subarray(chunk.length - (joined.length - fromTail)), fromTail);
    this.#tail = joined;
    return chunk;
  }

  async #next(): Promise<IteratorResult<Uint8Array>> {
    // The first 8 bytes tell a file ("ARROW1" and padding) from a stream, and are dropped for a file.
    while (this.#head !== undefined) {
      const chunk = await this.#pull();
      const head: Uint8Array = chunk === undefined ? this.#head : concat(this.#head, chunk);
      if (chunk !== undefined && head.length < FILE_PREFIX) {
        this.#head = head;
        continue;
      }
      this.#head = undefined;
      this.#file = head.length >= FILE_PREFIX && isIpcFile(head);
      const rest = this.#file ? head.subarray(FILE_PREFIX) : head;
      if (rest.length > 0) return { done: false, value: rest };
      if (chunk === undefined) return { done: true, value: undefined };
    }
    const chunk = await this.#pull();
    return chunk === undefined ? { done: true, value: undefined } : { done: false, value: chunk };
  }

  /**
   * After the reader's last batch: reads what it left (a file's footer) and
   * checks the end.
   *
   * @throws {InputError} For a stream without its end-of-stream marker, or a file without its closing magic.
   */
  async finish(): Promise<void> {
    while (await this.#pull() !== undefined) {
      // The footer of a file: counted, not decoded.
    }
    checkIpcEnd(this.#tail, this.#file, this.#read, this.#label);
  }

  /** Closes the input (idempotent). */
  async close(): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    await this.#source.return?.();
  }
}

/**
 * Whether an input's first bytes are an IPC file's magic.
 *
 * @param head The first 6 bytes or more.
 * @returns True for "ARROW1".
 */
export function isIpcFile(head: Uint8Array): boolean {
  return head.length >= MAGIC.length && MAGIC.every((byte, i) => head[i] === byte);
}

/**
 * The end of a whole Arrow input: a file's closing magic, or a stream's
 * end-of-stream marker.
 *
 * @param tail The input's last 8 bytes (fewer if it is shorter).
 * @param file Whether it starts as an IPC file.
 * @param length Its length in bytes.
 * @param label How the input is named in messages.
 * @throws {InputError} For a stream without its end-of-stream marker, or a file without its closing magic.
 */
export function checkIpcEnd(tail: Uint8Array, file: boolean, length: number, label: string): void {
  if (file) {
    if (!endsWith(tail, MAGIC) || length < 2 * FILE_PREFIX) {
      throw truncated(label, "an IPC file must end with its footer and the magic ARROW1");
    }
    return;
  }
  // The marker since Arrow 0.15 (the older 4 zero bytes cannot be told from a body's padding).
  if (!endsWith(tail, [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0])) {
    throw truncated(
      label,
      "an IPC stream must end with its end-of-stream marker (0xFFFFFFFF 0x00000000)",
    );
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

function truncated(label: string, rule: string): InputError {
  return new InputError(
    `Cannot read ${label} as ${rule}: current input ends without it after its last complete record batch (truncated?)`,
  );
}
