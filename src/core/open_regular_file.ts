/**
 * Opening a path that the readers read by position (Parquet, Arrow IPC), so
 * that a directory, a device or a pipe is refused by name at open instead of
 * failing later as an undecodable file.
 *
 * @module
 */

import { closeSync, fstatSync, openSync, statSync } from "node:fs";
import { type FileHandle, open, stat } from "node:fs/promises";
import { ruleMessage } from "./errors.ts";

/** What to say when a path is refused: the action, and what the path is. */
export interface OpenContext {
  /** The action, as in `Cannot <context> as …`, e.g. `"read Parquet"`. */
  context: string;
  /** The argument, e.g. `"file"`. */
  subject: string;
  /** What to do instead, appended to the message. */
  hint?: string;
}

/** A regular file opened for reading. */
export interface OpenedRegularFile {
  /** The handle; the caller closes it. */
  handle: FileHandle;
  /** The file's size in bytes at open. */
  size: number;
}

const RULE = "a path to a regular file (read by position)";

function kindOf(stats: { isDirectory(): boolean; isFIFO(): boolean; isSocket(): boolean }) {
  if (stats.isDirectory()) return "a directory";
  if (stats.isFIFO()) return "a pipe";
  if (stats.isSocket()) return "a socket";
  return "a device";
}

function notRegular(path: string | URL, kind: string, where: OpenContext): TypeError {
  const hint = where.hint === undefined ? "" : `; ${where.hint}`;
  return new TypeError(
    `${ruleMessage(where.context, where.subject, RULE, String(path))} (${kind})${hint}`,
  );
}

/**
 * Opens `path` for reading and checks that it is a regular file.
 *
 * @param path The path.
 * @param where What to name in the error.
 * @returns The handle and the size.
 * @throws {TypeError} When the path is a directory, a pipe, a socket or a device.
 * @throws {Error} The system's error (with its `code`, such as `ENOENT`) when it cannot be opened.
 *
 * @example Opening a file
 * ```ts
 * import { openRegularFile } from "./open_regular_file.ts";
 * import assert from "node:assert/strict";
 *
 * const { handle, size } = await openRegularFile(new URL(import.meta.url), { context: "read it", subject: "file" });
 * await handle.close();
 * assert.ok(size > 0);
 * await assert.rejects(openRegularFile(".", { context: "read it", subject: "file" }), /\(a directory\)/);
 * ```
 */
export async function openRegularFile(
  path: string | URL,
  where: OpenContext,
): Promise<OpenedRegularFile> {
  // Checked before opening too: opening a pipe for reading waits for a writer.
  const before = await stat(path);
  if (!before.isFile()) throw notRegular(path, kindOf(before), where);
  const handle = await open(path, "r");
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw notRegular(path, kindOf(stats), where);
    return { handle, size: stats.size };
  } catch (error) {
    await handle.close().catch(() => {});
    throw error;
  }
}

/**
 * {@linkcode openRegularFile} with blocking calls, for a file descriptor.
 *
 * @param path The path.
 * @param where What to name in the error.
 * @returns The descriptor and the size.
 * @throws {TypeError} When the path is a directory, a pipe, a socket or a device.
 * @throws {Error} The system's error (with its `code`, such as `ENOENT`) when it cannot be opened.
 *
 * @example Opening a file with blocking calls
 * ```ts
 * import { openRegularFileSync } from "./open_regular_file.ts";
 * import { closeSync } from "node:fs";
 * import assert from "node:assert/strict";
 *
 * const { fd, size } = openRegularFileSync(new URL(import.meta.url), { context: "read it", subject: "file" });
 * closeSync(fd);
 * assert.ok(size > 0);
 * ```
 */
export function openRegularFileSync(
  path: string | URL,
  where: OpenContext,
): { fd: number; size: number } {
  const before = statSync(path);
  if (!before.isFile()) throw notRegular(path, kindOf(before), where);
  const fd = openSync(path, "r");
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw notRegular(path, kindOf(stats), where);
    return { fd, size: stats.size };
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}
