/**
 * Writes `tests/fixtures/golden_library.json`: the float64 bit patterns of a
 * fixed set of library outputs (see `tests/golden/golden_library_cases.ts`), taken
 * from the code as it is, so that `tests/golden/golden_library_test.ts` can prove a
 * refactoring changes no bit. Run it only before a refactoring, never to make
 * a failing golden test pass.
 *
 * It computes the outputs in Deno (V8) and, through the pinned Bun, in
 * JavaScriptCore: a few values (powers such as `x ** 3`) differ in the last
 * bit between the two engines, and those leaves are stored per engine.
 *
 * Run: `./node_modules/.bin/deno run -A scripts/gen_golden.ts`
 * (`--print` writes this engine's outputs to stdout instead).
 *
 * @module
 */

import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { computeGolden, engine, mergeEngines } from "../tests/golden/golden_library_cases.ts";

const root = fileURLToPath(new URL("../", import.meta.url));
const own = await computeGolden();
if (process.argv.includes("--print")) {
  process.stdout.write(JSON.stringify(own));
} else {
  if (engine() !== "v8") {
    throw new Error(
      "Run scripts/gen_golden.ts with Deno: it asks Bun for the JavaScriptCore outputs",
    );
  }
  const jscText = execFileSync(
    `${root}node_modules/.bin/bun`,
    ["scripts/gen_golden.ts", "--print"],
    {
      cwd: root,
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  const file = mergeEngines(own, JSON.parse(jscText));
  const text = JSON.stringify(file) + "\n";
  const target = process.argv[2] ?? `${root}tests/fixtures/golden_library.json`;
  writeFileSync(target, text);
  const cases = Object.values(file.golden).reduce(
    (total, section) => total + Object.keys(section).length,
    0,
  );
  console.log(
    `${cases} cases, ${file.engines.v8.length} engine-specific leaves, ${text.length} bytes`,
  );
}
