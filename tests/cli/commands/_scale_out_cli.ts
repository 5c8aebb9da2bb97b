/**
 * Running the real CLI (`cli.ts` in the runtime running the tests) for the
 * scale-out tests: one-shot runs, long-running roles that can be signalled,
 * a seeded CSV input, and the NDJSON records the monitor prints.
 *
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { main } from "../../../src/cli/main.ts";
import { mulberry32 } from "../../random.ts";

/** The repository root. */
export const ROOT: string = fileURLToPath(new URL("../../..", import.meta.url));

/** `deno run -A cli.ts` or `bun cli.ts`, from the runtime running the tests. */
function cliCommand(): [string, string[]] {
  const deno = (globalThis as { Deno?: { execPath(): string } }).Deno;
  if (deno !== undefined) return [deno.execPath(), ["run", "-A", "cli.ts"]];
  return [process.execPath, ["cli.ts"]];
}

/** A CLI process. */
export interface CliProcess {
  process: ChildProcess;
  /** Resolves with the exit code (or the signal's name) and the output. */
  done: Promise<{ code: number | string; stdout: string; stderr: string }>;
  stdout(): string;
  stderr(): string;
}

/**
 * Starts the CLI with `args`.
 *
 * @param args The arguments after `cli.ts`.
 * @returns The process, its output so far and its end.
 */
export function startCli(args: readonly string[]): CliProcess {
  const [command, prefix] = cliCommand();
  const child = spawn(command, [...prefix, ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1" },
  });
  let out = "", err = "";
  child.stdout!.setEncoding("utf8").on("data", (text: string) => (out += text));
  child.stderr!.setEncoding("utf8").on("data", (text: string) => (err += text));
  const done = new Promise<{ code: number | string; stdout: string; stderr: string }>(
    (resolve, reject) => {
      child.once("error", reject);
      child.once(
        "close",
        (code, signal) => resolve({ code: code ?? signal ?? -1, stdout: out, stderr: err }),
      );
    },
  );
  return { process: child, done, stdout: () => out, stderr: () => err };
}

/**
 * Runs the CLI to its end, killing it after `timeoutMs`.
 *
 * @param args The arguments.
 * @param timeoutMs The longest it may run.
 * @returns The exit code and the output.
 */
export async function runCli(
  args: readonly string[],
  timeoutMs = 60_000,
): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const cli = startCli(args);
  const timer = setTimeout(() => cli.process.kill("SIGKILL"), timeoutMs);
  try {
    return await cli.done;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Writes a seeded CSV: a date column `day`, features f0…f(F−1) that drift
 * towards confound c0 halfway, and confound c0.
 *
 * @param path Where.
 * @param rows How many data rows.
 * @param seed The seed.
 * @param F Features.
 */
export function writeCsv(path: string, rows: number, seed: number, F = 4): void {
  const random = mulberry32(seed);
  const lines = [["day", ...Array.from({ length: F }, (_, f) => `f${f}`), "c0"].join(",")];
  const start = Date.UTC(2024, 0, 1);
  for (let i = 0; i < rows; i++) {
    const c = random() * 2 - 1;
    const drift = i > rows / 2 ? 0.8 : 0.1;
    const features = Array.from({ length: F }, (_, f) => drift * c * (f % 2 ? 1 : -1) + random());
    const day = new Date(start + i * 86_400_000).toISOString().slice(0, 10);
    lines.push([day, ...features, c].join(","));
  }
  writeFileSync(path, `${lines.join("\n")}\n`);
}

/** The NDJSON records of a monitor's standard output. */
// deno-lint-ignore no-explicit-any -- the CLI's JSON records are navigated freely in the assertions
export function records(stdout: string): Record<string, any>[] {
  return stdout.trim().split("\n").filter((line) => line.length > 0).map((line) =>
    JSON.parse(line)
  );
}

/** The largest absolute difference between two equal-length number arrays. */
export function maxDifference(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} and ${b.length}`);
  return a.reduce((worst, value, i) => Math.max(worst, Math.abs(value - b[i]!)), 0);
}

/** A name no other test run uses. */
export function uniqueName(label: string): string {
  return `cli-${label}-${Date.now()}-${Math.floor(Math.random() * 1e9)}`;
}

/** Resolves once `check` returns true, polling every 50 ms, or rejects after `timeoutMs`. */
export async function waitUntil(
  check: () => Promise<boolean>,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * `batch-corr monitor <file> …args --format ndjson` in this process: the
 * reference a group's aggregated view must equal.
 *
 * @param file The published file.
 * @param args The monitor's column and batch flags, and any more.
 * @returns Its NDJSON records.
 * @throws {Error} Unless the monitor exits 0.
 */
export async function fileMonitor(
  file: string,
  args: readonly string[],
): Promise<ReturnType<typeof records>> {
  let out = "";
  const io = {
    stdout: { write: (text: string) => void (out += text) },
    stderr: { write: () => {} },
    stdin: () => [],
    stderrIsTty: false,
  };
  const code = await main(["monitor", file, ...args, "--format", "ndjson"], io);
  if (code !== 0) throw new Error(`monitor ${file} exited ${code}`);
  return records(out);
}
