/**
 * The one check of a command whose binary output goes to standard output
 * (`export-onnx`, `monitor --format arrow`).
 *
 * @module
 */

import type { CliIo } from "../cli_io.ts";
import { UsageError } from "../errors.ts";

/**
 * Refuses a standard output that cannot take binary bytes: a terminal (it would show garbage
 * and could act on control bytes) or one that takes text only.
 *
 * @param io The CLI's streams.
 * @param what The command and its output, as in "export-onnx as its binary output".
 * @param example An --output value to suggest, such as "graph.onnx".
 * @returns The standard output's byte writer.
 * @throws {UsageError} Naming the command and what standard output is.
 */
export function binaryStdout(
  io: CliIo,
  what: string,
  example: string,
): (bytes: Uint8Array) => Promise<void> {
  if (io.stdoutIsTty === true) {
    throw new UsageError(
      `Cannot run ${what} must go to a file (--output ${example}) or a pipe: current standard output is a terminal`,
    );
  }
  if (io.stdoutBytes === undefined) {
    throw new UsageError(
      `Cannot run ${what} needs a standard output that accepts binary data: current one takes text only (use --output)`,
    );
  }
  return io.stdoutBytes;
}
