/**
 * Runs the CLI as a subprocess of the runtime running the tests, with its
 * own environment (a time zone, say), for the tests of the monitor's inputs.
 *
 * @module
 */

import { spawn } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const ROOT: string = fileURLToPath(new URL("../..", import.meta.url));

/** What a run of the CLI gave. */
export interface CliRun {
  /** The exit code. */
  code: number | null;
  /** Standard output, as bytes. */
  stdout: Uint8Array;
  /** Standard output, as text. */
  text: string;
  /** Standard error. */
  stderr: string;
}

/**
 * Runs `cli.ts` with arguments, standard input and extra environment.
 *
 * @param args The arguments after `cli.ts`.
 * @param options Standard input (bytes or text) and environment variables to set.
 * @returns The exit code and both outputs.
 */
export function runCli(
  args: readonly string[],
  options: { stdin?: string | Uint8Array; env?: Record<string, string> } = {},
): Promise<CliRun> {
  const deno = (globalThis as { Deno?: { execPath(): string } }).Deno;
  const [command, prefix] = deno !== undefined
    ? [deno.execPath(), ["run", "-A", "cli.ts"]]
    : [process.execPath, ["cli.ts"]];
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...prefix, ...args], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: "1", ...options.env },
    });
    const out: Uint8Array[] = [];
    let stderr = "";
    child.stdout.on("data", (chunk: Uint8Array) => out.push(chunk));
    child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text));
    child.on("error", reject);
    child.on("close", (code) => {
      const stdout = new Uint8Array(Buffer.concat(out));
      resolve({ code, stdout, text: new TextDecoder().decode(stdout), stderr });
    });
    child.stdin.on("error", () => {});
    child.stdin.end(options.stdin ?? "");
  });
}
