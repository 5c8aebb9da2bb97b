/**
 * The command line that runs a script of this repository in the runtime the
 * benchmark itself runs in (`deno run -A script` or `bun script`), for the
 * benchmarks that time or drive child processes.
 *
 * @module
 */

import process from "node:process";

/**
 * This runtime's command for `script` with `args`.
 *
 * @param script A path to the script (relative to the working directory, or absolute).
 * @param args Its arguments.
 * @returns The executable and its arguments.
 */
export function scriptCommand(script: string, args: readonly string[] = []): [string, string[]] {
  return "Deno" in globalThis
    ? [process.execPath, ["run", "-A", script, ...args]]
    : [process.execPath, [script, ...args]];
}
