/**
 * The real CLI as a child process for the service tests: `generate |
 * throttle | monitor -` pipelines, output watched as it comes, the service
 * URL read from stderr, and every process stopped by its PID.
 *
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { waitFor } from "../service/_support.ts";

/** The repository root, where cli.ts is. */
export const ROOT: string = fileURLToPath(new URL("../../..", import.meta.url));
const THROTTLE = fileURLToPath(new URL("./_throttle.ts", import.meta.url));

/** A script in the runtime running the tests: `deno run -A script` or `bun script`. */
function runtime(script: string): [string, string[]] {
  const deno = (globalThis as { Deno?: { execPath(): string } }).Deno;
  if (deno !== undefined) return [deno.execPath(), ["run", "-A", script]];
  return [process.execPath, [script]];
}

/** A child process whose output is collected as it comes. */
export class Child {
  readonly process: ChildProcess;
  stdout = "";
  stderr = "";
  readonly exited: Promise<number | null>;

  /**
   * @param stdin "pipe" to feed it.
   * @param piped Whether its stdout goes on to another process (then it is not collected).
   */
  constructor(command: string, args: string[], stdin: "pipe" | "ignore", piped = false) {
    this.process = spawn(command, args, {
      cwd: ROOT,
      stdio: [stdin, "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1" },
    });
    if (!piped) {
      this.process.stdout!.setEncoding("utf8").on("data", (text: string) => (this.stdout += text));
    }
    this.process.stderr!.setEncoding("utf8").on("data", (text: string) => (this.stderr += text));
    this.process.stdin?.on("error", () => {});
    this.exited = new Promise((resolve, reject) => {
      this.process.on("error", reject);
      this.process.on("close", (code) => resolve(code));
    });
  }

  /** Whether it is still running. */
  get running(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  /** Sends a signal to its PID. */
  signal(name: NodeJS.Signals): void {
    if (this.running && this.process.pid !== undefined) process.kill(this.process.pid, name);
  }

  /** The match of `pattern` in its stderr, once it appears. */
  async stderrMatch(pattern: RegExp, what: string, timeoutMs = 30_000): Promise<RegExpExecArray> {
    let match: RegExpExecArray | null = null;
    await waitFor(
      () => (match = pattern.exec(this.stderr)) !== null || !this.running,
      what,
      timeoutMs,
      20,
    );
    if (match === null) throw new Error(`${what}: exited first; stderr: ${this.stderr}`);
    return match;
  }

  /** Stops it by PID: SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 5_000): Promise<void> {
    if (!this.running) return;
    this.signal("SIGTERM");
    const timer = setTimeout(() => this.signal("SIGKILL"), graceMs);
    await this.exited.catch(() => {});
    clearTimeout(timer);
  }
}

/** The CLI with the given arguments (`stdin: "pipe"` to feed it). */
export function cli(args: string[], stdin: "pipe" | "ignore" = "ignore", piped = false): Child {
  const [command, prefix] = runtime("cli.ts");
  return new Child(command, [...prefix, ...args], stdin, piped);
}

/** The three processes of `generate | throttle | monitor -`. */
export interface Pipeline {
  generate: Child;
  throttle: Child;
  monitor: Child;
  /** Stops all three by PID. */
  stop(): Promise<void>;
}

/**
 * Starts `batch-corr generate <generate> | throttle <throttle> | batch-corr
 * monitor - <monitor>`, the pipes joined by this process.
 */
export function pipeline(generate: string[], throttle: string[], monitor: string[]): Pipeline {
  const gen = cli(["generate", ...generate], "ignore", true);
  const [command, prefix] = runtime(THROTTLE);
  const slow = new Child(command, [...prefix, ...throttle], "pipe", true);
  const mon = cli(["monitor", "-", ...monitor], "pipe");
  gen.process.stdout!.pipe(slow.process.stdin!);
  slow.process.stdout!.pipe(mon.process.stdin!);
  return {
    generate: gen,
    throttle: slow,
    monitor: mon,
    async stop() {
      await Promise.all([mon.stop(), slow.stop(), gen.stop()]);
    },
  };
}

/** The service URL the monitor prints on stderr. */
export async function serviceUrl(monitor: Child): Promise<string> {
  return (await monitor.stderrMatch(
    /serving (http:\/\/\S+)\/metrics/,
    "the monitor to print its service URL",
  ))[1]!;
}

/** Creates `path`, the signal a throttle waits for. */
export function touch(path: string): void {
  writeFileSync(path, "");
}

/** The NDJSON records on a monitor's stdout so far (complete lines only). */
// deno-lint-ignore no-explicit-any -- the CLI's JSON records are navigated freely in the assertions
export function records(child: Child): Record<string, any>[] {
  const text = child.stdout;
  return text.slice(0, text.lastIndexOf("\n") + 1).split("\n").filter((line) => line.length > 0)
    .map((line) => JSON.parse(line));
}
