/**
 * A slow pipe for the service tests: reads standard input (the output of
 * `batch-corr generate`), writes its first lines at once, then `--lines` data
 * lines every `--every-ms`, optionally inserting a line after every
 * `--insert-every`-th data line past `--insert-after`. `--start-file` holds
 * the pacing until that file exists; `--end-file` holds standard output open
 * after the last line until it exists (a producer that has gone quiet).
 * Exits on its own after `--give-up-ms` whatever happens.
 *
 *   batch-corr generate … | throttle.ts --first 121 --lines 40 --every-ms 150 | batch-corr monitor - …
 */
import { existsSync } from "node:fs";
import process from "node:process";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    first: { type: "string", default: "1" },
    lines: { type: "string", default: "1" },
    "every-ms": { type: "string", default: "100" },
    "start-file": { type: "string" },
    "end-file": { type: "string" },
    "insert-after": { type: "string" },
    "insert-every": { type: "string" },
    insert: { type: "string" },
    "give-up-ms": { type: "string", default: "120000" },
  },
});

const giveUp = setTimeout(() => process.exit(3), Number(values["give-up-ms"]));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitForFile(path: string | undefined): Promise<void> {
  while (path !== undefined && !existsSync(path)) await sleep(25);
}

function write(text: string): Promise<void> {
  return new Promise((resolve, reject) =>
    process.stdout.write(text, (error?: Error | null) => (error ? reject(error) : resolve()))
  );
}

let input = "";
process.stdin.setEncoding("utf8");
for await (const chunk of process.stdin) input += chunk;
const lines = input.split("\n").filter((line) => line.length > 0);

const first = Number(values.first);
const perTick = Number(values.lines);
const everyMs = Number(values["every-ms"]);
const insertAfter = values["insert-after"] === undefined
  ? Infinity
  : Number(values["insert-after"]);
const insertEvery = Number(values["insert-every"] ?? 0);

/** The line `n` (1-based, the header is 1), followed by the inserted line where due. */
function withInsert(n: number): string {
  const line = `${lines[n - 1]}\n`;
  const due = values.insert !== undefined && insertEvery > 0 && n > insertAfter &&
    (n - insertAfter) % insertEvery === 0;
  return due ? `${line}${values.insert}\n` : line;
}

let n = 0;
let text = "";
while (n < Math.min(first, lines.length)) text += withInsert(++n);
await write(text);
await waitForFile(values["start-file"]);
while (n < lines.length) {
  text = "";
  for (let i = 0; i < perTick && n < lines.length; i++) text += withInsert(++n);
  await write(text);
  await sleep(everyMs);
}
await waitForFile(values["end-file"]);
clearTimeout(giveUp);
process.stdout.end();
