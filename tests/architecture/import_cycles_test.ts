import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  filesUnder,
  findCycles,
  type ImportGraph,
  importGraph,
  importSpecifiers,
} from "./import_graph.ts";

describe("import cycles", () => {
  test("no file of mod.ts, cli.ts or src/ imports itself through others, type imports included", () => {
    const graph = importGraph(["mod.ts", "cli.ts", ...filesUnder("src")]);
    assert.ok(graph.size > 50, `the graph holds every file (${graph.size})`);
    const cycles = findCycles(graph).map((cycle) => cycle.join(" -> "));
    assert.deepEqual(cycles, []);
  });

  test("the cycle finder reports a cycle through three files and none in a chain", () => {
    const cyclic: ImportGraph = new Map([
      ["a.ts", ["b.ts"]],
      ["b.ts", ["c.ts"]],
      ["c.ts", ["a.ts"]],
      ["d.ts", ["a.ts"]],
    ]);
    assert.deepEqual(findCycles(cyclic), [["a.ts", "b.ts", "c.ts", "a.ts"]]);
    const chain: ImportGraph = new Map([["a.ts", ["b.ts"]], ["b.ts", ["c.ts"]], ["c.ts", []]]);
    assert.deepEqual(findCycles(chain), []);
    assert.deepEqual(findCycles(new Map([["a.ts", ["a.ts"]]])), [["a.ts", "a.ts"]]);
  });

  test("imports are read from code, not from comments, including type-only, re-exports and dynamic imports", () => {
    const source = [
      "/**",
      " * @example",
      ' * import { x } from "./in_a_comment.ts";',
      " */",
      'import type { A } from "./a.ts";',
      "import {",
      "  b,",
      "  type C,",
      '} from "../b.ts";',
      'export { d } from "./d.ts";',
      '// import { e } from "./e.ts";',
      'const url = "https://example.invalid/x.ts";',
      'const f = await import("./f.ts");',
      'import zod from "zod";',
    ].join("\n");
    assert.deepEqual(importSpecifiers(source).sort(), ["../b.ts", "./a.ts", "./d.ts", "./f.ts"]);
  });
});
