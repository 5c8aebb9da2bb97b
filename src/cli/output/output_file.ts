/**
 * Files the CLI writes (`--output`, `--report`): opened before any work so
 * that a directory, a missing folder or a path outside the permissions is
 * refused at once, and every write failure (a full disk) named with the path
 * and the flag instead of ending in a stack trace.
 *
 * @module
 */

import { createWriteStream, openSync, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { OutputError } from "../errors.ts";
import {
  drainingSink,
  isClosedOutput,
  outputFailure,
  type OutputSink,
  type OutputTarget,
  unwritableMessage,
} from "./output_sink.ts";
import { quoteInput, safeText } from "./safe_text.ts";

/** An output file opened for streaming. */
export interface OutputFile {
  /** Writes text, waiting when the file's buffer is full. */
  sink: OutputSink;
  /** Flushes and closes the file. */
  close(): Promise<void>;
}

/** The error for a path that cannot be written, naming the flag, the path and the reason. */
function unwritable(target: FileTarget, reason: string, cause?: unknown): OutputError {
  return new OutputError(unwritableMessage(target, reason), { cause });
}

/** A file named by a flag, and what goes in it. */
export interface FileTarget extends OutputTarget {
  /** The flag that named it (`--output`). */
  flag: string;
}

/**
 * Opens a file for writing (created or truncated), or refuses it.
 *
 * @param target The path, the flag that named it and what goes in it, for messages.
 * @returns The open file.
 * @throws {OutputError} If the path is a directory, its folder is missing, or it cannot be opened.
 *
 * @example Writing a file
 * ```ts
 * import { openOutputFile } from "./output_file.ts";
 * import { mkdtempSync, readFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import assert from "node:assert/strict";
 *
 * const path = join(mkdtempSync(join(tmpdir(), "out-")), "rows.csv");
 * const file = openOutputFile({ name: path, flag: "--output", what: "the rows" });
 * await file.sink.write("a,b\n");
 * await file.close();
 * assert.equal(readFileSync(path, "utf8"), "a,b\n");
 * assert.throws(
 *   () => openOutputFile({ name: tmpdir(), flag: "--output" }),
 *   /--output must name a writable file: .*a directory/,
 * );
 * ```
 */
export function openOutputFile(target: FileTarget): OutputFile {
  const path = target.name;
  let fd: number;
  try {
    fd = openSync(path, "w");
  } catch (error) {
    throw unwritable(target, openFailure(path, error), error);
  }
  const stream = createWriteStream(path, { fd });
  const sink = drainingSink(stream, target);
  let failure: unknown;
  stream.on("error", (error) => (failure ??= error));
  return {
    sink,
    close: () =>
      new Promise<void>((resolve, reject) => {
        const fail = (error: unknown) => reject(outputFailure(error, target));
        // A write that failed after its call returned (a full disk) is reported here.
        if (failure !== undefined) return fail(failure);
        stream.once("error", fail);
        stream.end((error?: Error | null) => (error ? fail(error) : resolve()));
      }),
  };
}

/**
 * Writes `data` to a file in one go, or refuses it.
 *
 * @param target The path, the flag that named it and what goes in it, for messages.
 * @param data The bytes or text.
 * @throws {OutputError} If the path cannot be written (naming the reason).
 * @throws {ClosedOutputError} If the path is a pipe whose reader went away.
 *
 * @example
 * ```ts
 * import { writeOutputFile } from "./output_file.ts";
 * import assert from "node:assert/strict";
 *
 * assert.throws(
 *   () => writeOutputFile({ name: "/nonexistent/model.onnx", flag: "--output" }, new Uint8Array(1)),
 *   /folder .* does not exist/,
 * );
 * ```
 */
export function writeOutputFile(target: FileTarget, data: Uint8Array | string): void {
  try {
    writeFileSync(target.name, data);
  } catch (error) {
    if (isClosedOutput(error)) throw outputFailure(error, target);
    throw unwritable(target, openFailure(target.name, error), error);
  }
}

/**
 * Refuses a path that could not be written, before the work that would fill
 * it: a directory, or a file in a folder that does not exist. What cannot be
 * told here (permissions, a full disk) is left to the write.
 *
 * @param target The path, the flag that named it and what goes in it, for messages.
 * @throws {OutputError} For a directory or a missing folder.
 *
 * @example
 * ```ts
 * import { checkOutputPath } from "./output_file.ts";
 * import { tmpdir } from "node:os";
 * import assert from "node:assert/strict";
 *
 * assert.throws(
 *   () => checkOutputPath({ name: tmpdir(), flag: "--report" }),
 *   /--report must name a writable file: .* \(a directory\)/,
 * );
 * checkOutputPath({ name: `${tmpdir()}/report.html`, flag: "--report" });
 * ```
 */
export function checkOutputPath(target: FileTarget): void {
  const reason = pathProblem(target.name);
  if (reason !== undefined) throw unwritable(target, reason);
}

/** What is wrong with a path for writing, if it can be told without writing. */
function pathProblem(path: string): string | undefined {
  const kind = statKind(path);
  if (kind === "directory") return "a directory";
  if (kind !== "missing") return undefined;
  const folder = statKind(dirname(path));
  if (folder === "missing") return `the folder ${quoteInput(dirname(path), 200)} does not exist`;
  if (folder !== "directory" && folder !== "unknown") {
    return `${quoteInput(dirname(path), 200)} is not a folder`;
  }
  return undefined;
}

function statKind(path: string): "directory" | "file" | "missing" | "unknown" {
  try {
    return statSync(path).isDirectory() ? "directory" : "file";
  } catch (error) {
    // ENOENT: nothing there; anything else (no read permission) cannot be told here.
    return (error as { code?: string }).code === "ENOENT" ? "missing" : "unknown";
  }
}

/** Why opening a path for writing failed, in words, with the system's message. */
function openFailure(path: string, error: unknown): string {
  const message = safeText(error instanceof Error ? error.message : String(error), 300);
  const problem = pathProblem(path);
  return problem === undefined ? message : `${problem}: ${message}`;
}
