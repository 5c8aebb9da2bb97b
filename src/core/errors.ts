/**
 * The library's own error class, and the message format shared by every error
 * it throws.
 *
 * @module
 */

/**
 * Machine-readable codes carried by {@linkcode BatchCorrError}. `"invalid_merge"`
 * is a merge that would count samples twice (an accumulator merged into
 * itself); `"resource_limit"` an F·M above `maxElements`, or a count beyond
 * 2⁵³ − 1, where adding a sample no longer changes it. The scale-out
 * layer (`./distributed`, `./redis`, `./nats`) adds:
 * - `"invalid_envelope"`: a batch message that is not a readable batch envelope;
 * - `"commit_refused"`: a commit fenced off because this worker lost its batches;
 * - `"all_reduce_timeout"`: not every rank published its moments for a step in time;
 * - `"all_reduce_conflict"`: a rank published different moments, or another world size, for a step;
 * - `"engine_unavailable"`: the Redis or NATS server could not be reached for too long.
 *
 * `"peer_missing"`: an optional peer package (onnxruntime-node, onnxruntime-web,
 * `@tensorflow/tfjs`, ioredis, `@nats-io/*`, apache-arrow, hyparquet) is not
 * installed or could not be loaded; the message names it and the command that
 * installs it in Deno, Bun and Node.js (`details.install`).
 */
export type BatchCorrErrorCode =
  | "invalid_snapshot"
  | "invalid_merge"
  | "stream_batch_failed"
  | "provider_unavailable"
  | "backend_failed"
  | "resource_limit"
  | "invalid_envelope"
  | "commit_refused"
  | "all_reduce_timeout"
  | "all_reduce_conflict"
  | "engine_unavailable"
  | "peer_missing";

/**
 * An error raised for a condition that belongs to this library rather than to a
 * wrong argument: a corrupted snapshot, a failed batch in a stream, an ONNX
 * provider that cannot run here. Wrong types and shapes throw `TypeError`, and
 * out-of-range values throw `RangeError`, as the platform does.
 *
 * @example Catching a library condition
 * ```ts
 * import { BatchCorrError } from "@streamcorr/batch-corr";
 * import assert from "node:assert/strict";
 *
 * const error = new BatchCorrError("invalid_snapshot", "Cannot restore the snapshot as its version must be 1: current value is 7");
 * assert.ok(error instanceof Error);
 * assert.equal(error.code, "invalid_snapshot");
 * ```
 */
export class BatchCorrError extends Error {
  /** What kind of condition this is. */
  readonly code: BatchCorrErrorCode;
  /** Extra facts about the condition (a batch index, a provider name…). */
  readonly details: Readonly<Record<string, unknown>>;

  /**
   * Creates an error.
   *
   * @param code What kind of condition this is.
   * @param message What was wrong, the rule, and the value seen.
   * @param options The underlying `cause` and any extra `details`.
   */
  constructor(
    code: BatchCorrErrorCode,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    // Own keys only: a cause or details that only Object.prototype holds is none.
    const cause = Object.hasOwn(options, "cause") ? options.cause : undefined;
    const details = Object.hasOwn(options, "details") ? options.details : undefined;
    super(message, cause === undefined ? undefined : { cause });
    this.name = "BatchCorrError";
    this.code = code;
    this.details = Object.freeze({ ...details });
  }
}

/** Formats a value for an error message without dumping large inputs. */
export function describeValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number") {
    return Object.is(value, -0) ? "-0" : String(value);
  }
  if (typeof value === "bigint") return `${value}n`;
  if (value === null || value === undefined || typeof value === "boolean") {
    return String(value);
  }
  if (typeof value === "function") return "a function";
  if (typeof value !== "object") return String(value);
  // An untrusted object (a revoked Proxy, a getter or trap that throws, a constructor whose
  // name is not a string) must never make the message itself throw.
  try {
    if (Array.isArray(value)) return `an array of length ${Number(value.length)}`;
    const name: unknown = (value as object).constructor?.name;
    const named = typeof name === "string" && name !== "" && name !== "Object";
    if (ArrayBuffer.isView(value)) {
      const length = (value as unknown as ArrayLike<number>).length ?? value.byteLength;
      return `a ${named ? name : "typed array"} of length ${Number(length)}`;
    }
    return named ? `a ${name}` : "an object";
  } catch {
    return "an object";
  }
}

/**
 * A shape as messages show it: `[2, 3]`.
 *
 * @param shape The extents.
 * @returns The text.
 */
export function shapeText(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

/**
 * The text of something thrown, for a message that reports it: an Error's
 * message, a string as it is, anything else as {@linkcode describeValue} shows
 * it (user code may throw a null-prototype object, which `String()` cannot
 * convert). Never throws.
 *
 * @param thrown What was thrown.
 * @returns Its text.
 */
export function thrownText(thrown: unknown): string {
  if (typeof thrown === "string") return thrown;
  try {
    if (thrown instanceof Error) return String(thrown.message);
  } catch {
    // A message getter that throws: described below.
  }
  return describeValue(thrown);
}

/** Builds the library's standard message: what, the rule, the value seen. */
export function ruleMessage(
  context: string,
  subject: string,
  rule: string,
  value: unknown,
): string {
  return `Cannot ${context} as ${subject} must be ${rule}: current value is ${
    describeValue(value)
  }`;
}

/**
 * The error for `window` and `decay` given together: a stream or an
 * aggregator keeps one kind of window view at a time.
 *
 * @param context What was being done.
 * @param window The window given.
 * @param decay The decay given.
 * @returns The `TypeError` to throw.
 */
export function windowAndDecayError(context: string, window: unknown, decay: unknown): TypeError {
  return new TypeError(
    `Cannot ${context} as options.window and options.decay must not both be set (choose one kind of window view): current values are ${
      String(window)
    } and ${String(decay)}`,
  );
}
