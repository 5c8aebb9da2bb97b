/**
 * Records `tests/fixtures/golden_cli.json`: runs every golden case under Deno
 * and under Bun and stores one outcome where both agree, one per runtime
 * where they differ. Run it only to accept an intended change of the CLI's
 * output: `./node_modules/.bin/deno run -A tests/cli/_golden_cli_record.ts`.
 *
 * @module
 */

import { isDeepStrictEqual } from "node:util";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CASES,
  GOLDEN_PATH,
  type GoldenEntry,
  type GoldenFile,
  type GoldenHelp,
  HELP_ARGS,
  INPUTS,
  listedFlags,
  type Outcome,
  runCase,
  runCli,
  type Runtime,
  writeLiteralInputs,
} from "./_golden_cli_cases.ts";

const RUNTIMES: Runtime[] = ["deno", "bun"];

async function record(): Promise<GoldenEntry[][]> {
  const byRuntime = new Map<Runtime, Outcome[]>();
  for (const runtime of RUNTIMES) {
    const tmp = mkdtempSync(join(tmpdir(), "batch-corr-golden-"));
    try {
      writeLiteralInputs(tmp);
      const outcomes: Outcome[] = [];
      for (const golden of [...INPUTS, ...CASES]) {
        outcomes.push(await runCase(runtime, golden, tmp));
      }
      byRuntime.set(runtime, outcomes);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  const entries = [...INPUTS, ...CASES].map((golden, i): GoldenEntry => {
    const deno = byRuntime.get("deno")![i]!;
    const bun = byRuntime.get("bun")![i]!;
    return isDeepStrictEqual(deno, bun) ? { ...golden, expected: deno } : { ...golden, deno, bun };
  });
  return [entries.slice(0, INPUTS.length), entries.slice(INPUTS.length)];
}

async function recordHelp(): Promise<Record<string, GoldenHelp>> {
  const help: Record<string, GoldenHelp> = {};
  for (const [topic, args] of Object.entries(HELP_ARGS)) {
    const run = await runCli("deno", args);
    const text = new TextDecoder().decode(run.stdout);
    if (run.code !== 0) throw new Error(`help of ${topic} exited ${run.code}: ${run.stderr}`);
    help[topic] = { args, flags: listedFlags(text), text };
  }
  return help;
}

const [inputs, cases] = await record();
const golden: GoldenFile = {
  note: "Written by tests/cli/_golden_cli_record.ts on the CLI before the src/cli restructuring; " +
    "checked by tests/cli/golden_cli_test.ts. Outputs are SHA-256 of the bytes with the temporary directory written <tmp>.",
  inputs: inputs!,
  cases: cases!,
  help: await recordHelp(),
};
writeFileSync(GOLDEN_PATH, `${JSON.stringify(golden, null, 1)}\n`);
const split = [...golden.inputs, ...golden.cases].filter((entry) => entry.expected === undefined);
console.log(
  `wrote ${GOLDEN_PATH}: ${golden.inputs.length + golden.cases.length} cases, ` +
    `${split.length} with per-runtime outcomes (${
      split.map((entry) => entry.name).join("; ") || "none"
    })`,
);
