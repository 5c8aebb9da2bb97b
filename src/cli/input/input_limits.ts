/**
 * The resource limits of the input readers (fields or keys per record, bytes
 * per record) and the errors that name them.
 *
 * @module
 */

import { InputLimitError } from "../errors.ts";

/** Resource limits of the input readers, enforced while streaming. */
export interface InputLimits {
  /** The most fields of one CSV record, or keys of one NDJSON object. */
  maxColumns?: number;
  /** The most bytes of one CSV record (a quoted field spanning lines counts whole) or one NDJSON line. */
  maxLineBytes?: number;
}

/** The limits the CLI applies unless raised with --max-columns and --max-line-bytes. */
export const DEFAULT_INPUT_LIMITS: Readonly<Required<InputLimits>> = Object.freeze({
  maxColumns: 100_000,
  maxLineBytes: 16 * 1024 * 1024,
});

/**
 * The error for a record with more than `max` fields (or keys).
 *
 * @param line The line where the record starts.
 * @param max The limit.
 * @param what The record, in words.
 * @param unit What is counted.
 * @returns The error, naming the limit, the line and --max-columns.
 */
export function tooManyColumns(
  line: number,
  max: number,
  what = "a CSV record",
  unit = "fields",
): InputLimitError {
  return new InputLimitError(
    `Cannot read line ${line} as ${what} must have at most ${max} ${unit} (raise the limit with --max-columns): current value is more than ${max} ${unit}`,
    { limit: "max-columns", line },
  );
}

/**
 * The error for a record longer than `max` bytes.
 *
 * @param line The line where the record starts.
 * @param max The limit.
 * @param what The record, in words.
 * @returns The error, naming the limit, the line and --max-line-bytes.
 */
export function tooLongLine(line: number, max: number, what = "a CSV record"): InputLimitError {
  return new InputLimitError(
    `Cannot read line ${line} as ${what} must be at most ${max} bytes long (raise the limit with --max-line-bytes): current value is more than ${max} bytes`,
    { limit: "max-line-bytes", line },
  );
}
