/**
 * The CLI's error kinds and the exit codes they map to.
 *
 * @module
 */

/** Exit codes of the `batch-corr` command. */
export const EXIT: Readonly<{ ok: 0; internal: 1; usage: 2; alert: 3 }> = Object.freeze({
  /** Every batch processed and no alert fired. */
  ok: 0,
  /** An internal error (a bug, an I/O failure). */
  internal: 1,
  /** Bad usage (unknown flag, invalid value) or bad input (unreadable file, bad row with --on-bad-row error). */
  usage: 2,
  /** The stream was processed and at least one batch crossed the --alert level. */
  alert: 3,
});

/** A command line that cannot be run as given (exit code 2). */
export class UsageError extends Error {
  /**
   * Creates the error.
   *
   * @param message What was wrong, the rule, and the value seen.
   */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Input data that cannot be used (exit code 2): a missing column, a bad row under --on-bad-row error. */
export class InputError extends Error {
  /** The input line concerned, when there is one. */
  readonly line: number | undefined;

  /**
   * Creates the error.
   *
   * @param message What was wrong, the rule, and the value seen.
   * @param options The input line concerned.
   */
  constructor(message: string, options: { line?: number } = {}) {
    super(message);
    this.name = "InputError";
    this.line = options.line;
  }
}

/** Which resource limit an input exceeded. */
export type InputLimit = "max-columns" | "max-line-bytes";

/**
 * An input record over a resource limit (exit code 2): refused while
 * streaming, before the record is held whole.
 */
export class InputLimitError extends InputError {
  /** The command-line flag that raises the limit. */
  readonly limit: InputLimit;

  /**
   * Creates the error.
   *
   * @param message What was wrong, the limit, the value seen and the flag.
   * @param options The limit and the input line.
   */
  constructor(message: string, options: { limit: InputLimit; line: number }) {
    super(message, { line: options.line });
    this.name = "InputLimitError";
    this.limit = options.limit;
  }
}
