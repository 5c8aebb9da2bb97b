/**
 * The servers the integration tests need (Redis, NATS), found through
 * REDIS_URL and NATS_URL. Outside CI a test whose server is missing or
 * unreachable is skipped with the reason; under CI=true it fails, because
 * `.ci/run` starts the servers and a missing one is a broken setup, not a
 * reason to pass.
 *
 * Also: running a helper script in the runtime that runs the tests (Deno or
 * Bun), free ports, and starting a private redis-server.
 *
 * @module
 */

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";

/** Whether this run is CI's (where a missing server fails). */
export const IN_CI = process.env.CI === "true";

/** A server the tests need. */
export interface Service {
  /** The skip option for `test()`: the reason, or false when the server is there (or in CI). */
  skip: string | false;
  /** The URL; throws (failing the test) when the server is missing under CI. */
  url(): string;
}

function reachable(url: string, timeoutMs = 1500): Promise<boolean> {
  let host: string, port: number;
  try {
    const parsed = new URL(url);
    host = parsed.hostname;
    port = Number(parsed.port);
  } catch {
    return Promise.resolve(false);
  }
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("error", () => done(false));
    socket.connect(port, host, () => done(true));
  });
}

async function findService(variable: "REDIS_URL" | "NATS_URL", what: string): Promise<Service> {
  const url = process.env[variable];
  let problem: string | undefined;
  if (!url) {
    problem =
      `${variable} is not set (start ${what} on 127.0.0.1 and export ${variable}, as .ci/run does)`;
  } else if (!(await reachable(url))) problem = `${variable}=${url} does not answer`;
  if (problem === undefined) return { skip: false, url: () => url! };
  return {
    skip: IN_CI ? false : problem,
    url: () => {
      throw new Error(
        `This test needs ${what} and CI=true, so a missing server fails the run: ${problem}`,
      );
    },
  };
}

/** Redis, from REDIS_URL. */
export const redisService: Service = await findService("REDIS_URL", "redis-server");
/** NATS with JetStream, from NATS_URL. */
export const natsService: Service = await findService("NATS_URL", "nats-server -js");

/** The command that runs a TypeScript file in the runtime running the tests. */
export function scriptCommand(path: string, args: readonly string[] = []): [string, string[]] {
  const deno = (globalThis as { Deno?: { execPath(): string } }).Deno;
  if (deno !== undefined) return [deno.execPath(), ["run", "-A", path, ...args]];
  return [process.execPath, [path, ...args]];
}

/** A child process whose output lines can be awaited. */
export interface Child {
  process: ChildProcess;
  /** Every stdout line so far. */
  lines: string[];
  /** Resolves with the first stdout line (past or future) matching `pattern`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>;
  /** stderr so far. */
  stderr(): string;
}

/** Spawns a script in the current runtime with a JSON argument. */
export function spawnScript(path: string, config: unknown): Child {
  const [command, args] = scriptCommand(path, [JSON.stringify(config)]);
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  let buffered = "", errors = "";
  child.stdout!.setEncoding("utf8");
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (chunk: string) => {
    errors += chunk;
  });
  child.stdout!.on("data", (chunk: string) => {
    buffered += chunk;
    let newline: number;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      lines.push(line);
      for (const waiter of [...waiters]) {
        if (waiter.pattern.test(line)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    }
  });
  const exited = new Promise<number | string>((resolve) => {
    child.once("exit", (code, signal) => resolve(code ?? signal ?? -1));
  });
  return {
    process: child,
    lines,
    stderr: () => errors,
    exited,
    waitFor(pattern, timeoutMs = 30_000) {
      const seen = lines.find((line) => pattern.test(line));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(
            new Error(
              `no line matching ${pattern} within ${timeoutMs} ms; stdout: ${
                lines.join(" | ")
              }; stderr: ${errors}`,
            ),
          );
        }, timeoutMs);
        const exit = exited.then((code) => {
          reject(
            new Error(
              `exited (${code}) before a line matching ${pattern}; stdout: ${
                lines.join(" | ")
              }; stderr: ${errors}`,
            ),
          );
        });
        void exit;
        waiters.push({
          pattern,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
      });
    },
  };
}

/** The JSON after `prefix` on the child's line that starts with it. */
export async function jsonLine<T>(child: Child, prefix: string, timeoutMs?: number): Promise<T> {
  const line = await child.waitFor(new RegExp(`^${prefix} `), timeoutMs);
  return JSON.parse(line.slice(prefix.length + 1)) as T;
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/** A redis-server of the test's own, with its data in a temporary folder. */
export interface OwnRedis {
  url: string;
  port: number;
  dir: string;
  /** Starts (or restarts) the server and waits until it answers. */
  start(): Promise<void>;
  /** SIGKILLs the server (its appendonly file keeps every acknowledged write). */
  kill(): Promise<void>;
  /** Stops the server and removes its folder. */
  dispose(): Promise<void>;
}

/** Whether redis-server is on the PATH. */
export const REDIS_SERVER_INSTALLED = spawnSync("redis-server", ["--version"]).status === 0;

/**
 * Prepares a redis-server on a free port that persists every write
 * (`--appendonly yes --appendfsync always`), for restart tests.
 */
export async function ownRedis(): Promise<OwnRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "batch-corr-redis-"));
  let child: ChildProcess | undefined;
  const url = `redis://127.0.0.1:${port}`;
  const stop = async (signal: "SIGKILL" | "SIGTERM") => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((resolve) => child!.once("exit", resolve));
    child.kill(signal);
    await gone;
  };
  return {
    url,
    port,
    dir,
    async start() {
      child = spawn("redis-server", [
        "--bind",
        "127.0.0.1",
        "--port",
        String(port),
        "--dir",
        dir,
        "--save",
        "",
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
      ], { stdio: "ignore" });
      const deadline = Date.now() + 10_000;
      while (!(await reachable(url, 200))) {
        if (Date.now() > deadline) {
          throw new Error(`redis-server on port ${port} did not answer within 10 s`);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    kill: () => stop("SIGKILL"),
    async dispose() {
      await stop("SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
