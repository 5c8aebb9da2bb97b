/**
 * The CLI's error kinds and the exit codes they map to.
 *
 * @module
 */

/** The exit codes by name. */
export type ExitCodes = { ok: 0; internal: 1; usage: 2; alert: 3; closedOutput: 141 };

/** Exit codes of the `batch-corr` command. */
export const EXIT: Readonly<ExitCodes> = Object.freeze({
  /** Every batch processed and no alert fired. */
  ok: 0,
  /** An internal error (a bug, an I/O failure). */
  internal: 1,
  /** Bad usage (unknown flag, invalid value) or bad input (unreadable file, bad row with --on-bad-row error). */
  usage: 2,
  /** The stream was processed and at least one batch crossed the --alert level. */
  alert: 3,
  /**
   * An output's reader went away (`monitor … | head -1`): the run stops quietly with the status
   * a shell shows for a process ended by SIGPIPE (128 + 13).
   */
  closedOutput: 141,
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

/**
 * An output whose reader went away (a closed pipe): nothing more can be
 * delivered, so the run stops quietly with {@linkcode EXIT}.closedOutput.
 */
export class ClosedOutputError extends Error {
  /**
   * Creates the error.
   *
   * @param output Which output was closed ("standard output", "standard error", a path).
   * @param options The underlying error.
   */
  constructor(output: string, options: { cause?: unknown } = {}) {
    super(
      `Cannot write ${output} as its reader must still be reading: current one has closed it`,
      options,
    );
    this.name = "ClosedOutputError";
  }
}

/**
 * An output that cannot be written (exit code 2): a directory, a missing
 * folder, a full disk, a path outside the permissions.
 */
export class OutputError extends Error {
  /**
   * Creates the error.
   *
   * @param message What could not be written, the rule, and the reason.
   * @param options The underlying error.
   */
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = "OutputError";
  }
}
