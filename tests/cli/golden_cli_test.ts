import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  currentRuntime,
  GOLDEN_PATH,
  type GoldenEntry,
  type GoldenFile,
  listedFlags,
  type Outcome,
  runCase,
  runCli,
  writeLiteralInputs,
} from "./_golden_cli_cases.ts";

// Stored from the CLI as it was before src/cli was restructured: every run must give the same bytes.
const golden = JSON.parse(readFileSync(GOLDEN_PATH, "utf8")) as GoldenFile;
const runtime = currentRuntime();
const CONCURRENCY = 3;

let tmp = "";
let runs: Map<string, Promise<Outcome>> | undefined;

function expectedOf(entry: GoldenEntry): Outcome {
  const expected = entry.expected ?? entry[runtime];
  if (expected === undefined) {
    throw new Error(`golden_cli.json has no outcome of "${entry.name}" for ${runtime}`);
  }
  return expected;
}

/**
 * Starts every run once, on first use: the inputs one by one (the cases read
 * the files they write), then the cases a few at a time, since each is a
 * subprocess that mostly waits on its runtime's start-up.
 */
function startRuns(): Map<string, Promise<Outcome>> {
  const started = new Map<string, Promise<Outcome>>();
  let inputs: Promise<unknown> = Promise.resolve();
  for (const entry of golden.inputs) {
    const run = inputs.then(() => runCase(runtime, entry, tmp));
    started.set(entry.name, run);
    inputs = run;
  }
  const lanes = Array.from({ length: CONCURRENCY }, () => inputs.catch(() => {}));
  golden.cases.forEach((entry, i) => {
    const run = lanes[i % CONCURRENCY]!.then(() => runCase(runtime, entry, tmp));
    started.set(entry.name, run);
    lanes[i % CONCURRENCY] = run.catch(() => {});
  });
  return started;
}

function outcomeOf(entry: GoldenEntry): Promise<Outcome> {
  runs ??= startRuns();
  return runs.get(entry.name)!;
}

before(() => {
  tmp = mkdtempSync(join(tmpdir(), "batch-corr-golden-"));
  writeLiteralInputs(tmp);
});

after(async () => {
  // Every started run has ended before its directory goes.
  await Promise.allSettled(runs?.values() ?? []);
  rmSync(tmp, { recursive: true, force: true });
});

describe("the CLI gives the stored output byte for byte", () => {
  for (const entry of [...golden.inputs, ...golden.cases]) {
    test(`${entry.name}: batch-corr ${entry.args.join(" ")}`, { timeout: 120_000 }, async () => {
      assert.deepEqual(await outcomeOf(entry), expectedOf(entry));
    });
  }
});

describe("the help of each command still lists every flag it listed", () => {
  for (const [topic, help] of Object.entries(golden.help)) {
    test(
      `batch-corr ${help.args.join(" ")} lists ${help.flags.length} flags`,
      { timeout: 60_000 },
      async () => {
        const run = await runCli(runtime, help.args);
        assert.equal(run.code, 0, run.stderr);
        const listed = new Set(listedFlags(new TextDecoder().decode(run.stdout)));
        const missing = help.flags.filter((flag) => !listed.has(flag));
        assert.deepEqual(missing, [], `the help of ${topic} no longer lists ${missing.join(", ")}`);
      },
    );
  }
});
