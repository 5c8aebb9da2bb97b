/**
 * Helpers of the service tests: an independent reader of the Prometheus text
 * format, executables on PATH, the CI rule for missing tools, raw sockets.
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import net from "node:net";
import { delimiter, join } from "node:path";
import process from "node:process";

/** One parsed sample line. */
export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A parsed exposition: families with their help, type and samples. */
export interface ParsedExposition {
  help: Map<string, string>;
  type: Map<string, string>;
  samples: ParsedSample[];
}

function unescapeHelp(text: string): string {
  return text.replace(/\\(\\|n)/g, (_, c: string) => (c === "n" ? "\n" : "\\"));
}

/** Parses a float as Prometheus does (Go's ParseFloat plus the format's +Inf/-Inf/NaN). */
function parseValue(text: string): number {
  if (/^[+]?inf$/i.test(text)) return Infinity;
  if (/^-inf$/i.test(text)) return -Infinity;
  if (/^nan$/i.test(text)) return Number.NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) {
    throw new Error(`bad value ${JSON.stringify(text)}`);
  }
  return Number(text);
}

/**
 * Reads the text format by its specification, independently of the writer:
 * comment lines, then `name{label="value",…} value`, with `\\`, `\"` and `\n`
 * escapes in label values. Throws on anything malformed.
 */
export function parseExposition(text: string): ParsedExposition {
  if (text.length > 0 && !text.endsWith("\n")) {
    throw new Error("the last line must end with a line feed");
  }
  const out: ParsedExposition = { help: new Map(), type: new Map(), samples: [] };
  for (const line of text.split("\n").slice(0, -1)) {
    if (line.startsWith("# HELP ")) {
      const rest = line.slice(7);
      const space = rest.indexOf(" ");
      out.help.set(rest.slice(0, space), unescapeHelp(rest.slice(space + 1)));
      continue;
    }
    if (line.startsWith("# TYPE ")) {
      const [name, type] = line.slice(7).split(" ");
      out.type.set(name!, type!);
      continue;
    }
    if (line.startsWith("#") || line.trim() === "") continue;
    const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0];
    if (!name) throw new Error(`bad sample line ${JSON.stringify(line)}`);
    let at = name.length;
    const labels: Record<string, string> = {};
    if (line[at] === "{") {
      at++;
      while (line[at] !== "}") {
        const labelName = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(at))?.[0];
        if (
          !labelName || line[at + labelName.length] !== "=" ||
          line[at + labelName.length + 1] !== '"'
        ) {
          throw new Error(`bad label at ${at} in ${JSON.stringify(line)}`);
        }
        at += labelName.length + 2;
        let value = "";
        for (;;) {
          const c = line[at++];
          if (c === undefined) {
            throw new Error(`unterminated label value in ${JSON.stringify(line)}`);
          }
          if (c === '"') break;
          if (c === "\\") {
            const e = line[at++];
            if (e === "n") value += "\n";
            else if (e === "\\" || e === '"') value += e;
            else throw new Error(`bad escape \\${e} in ${JSON.stringify(line)}`);
          } else {
            value += c;
          }
        }
        if (Object.hasOwn(labels, labelName)) throw new Error(`label ${labelName} twice`);
        labels[labelName] = value;
        if (line[at] === ",") at++;
        else if (line[at] !== "}") {
          throw new Error(`expected , or } at ${at} in ${JSON.stringify(line)}`);
        }
      }
      at++;
    }
    if (line[at] !== " ") {
      throw new Error(`expected a space before the value in ${JSON.stringify(line)}`);
    }
    const [valueText, timestamp, extra] = line.slice(at + 1).split(" ");
    if (extra !== undefined || (timestamp !== undefined && !/^-?\d+$/.test(timestamp))) {
      throw new Error(`bad sample tail in ${JSON.stringify(line)}`);
    }
    out.samples.push({ name, labels, value: parseValue(valueText!) });
  }
  return out;
}

/** The samples of one metric. */
export function samplesOf(exposition: ParsedExposition, name: string): ParsedSample[] {
  return exposition.samples.filter((sample) => sample.name === name);
}

/** The value of a metric without labels, or undefined when it has no sample. */
export function valueOf(exposition: ParsedExposition, name: string): number | undefined {
  const samples = samplesOf(exposition, name);
  if (samples.length > 1) throw new Error(`${name} has ${samples.length} samples`);
  return samples[0]?.value;
}

/** The path of an executable on PATH (or the given absolute path), if present. */
export function findExecutable(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** Whether the tests run under CI, where a missing tool fails instead of skipping. */
export const UNDER_CI = process.env.CI === "true";

/**
 * The skip reason for a test that needs `tool`: a string outside CI when it
 * is missing, undefined when present (or under CI, where the test then fails
 * on its own check).
 */
export function skipWithout(
  tool: string,
  path: string | undefined,
  install: string,
): string | undefined {
  if (path !== undefined || UNDER_CI) return undefined;
  return `${tool} is not installed (${install}); under CI=true this test fails instead`;
}

/** Runs promtool with text on standard input; returns its exit status and output. */
export function promtool(
  path: string,
  args: string[],
  input?: string,
): { status: number; output: string } {
  const result = spawnSync(path, args, { input, encoding: "utf8", timeout: 30_000 });
  return { status: result.status ?? -1, output: `${result.stdout ?? ""}${result.stderr ?? ""}` };
}

/** A free loopback TCP port (bound and released; the caller binds it next). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Opens a raw connection that sends a GET and then never reads: the socket is
 * paused, so the kernel buffers fill and the server sees a client that stops.
 */
export async function neverReadingClient(port: number, path: string): Promise<net.Socket> {
  const socket = net.connect({ port, host: "127.0.0.1" });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("error", reject);
  });
  // A small receive buffer makes the stall visible sooner.
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\n\r\n`,
  );
  socket.pause();
  socket.on("error", () => {});
  return socket;
}

/** Waits until `check` is true, polling every `everyMs`, or fails after `timeoutMs`. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
  everyMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** Sleeps. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
