import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  filesUnder,
  type ImportGraph,
  importGraph,
  insideFolderOf,
  isPrivate,
  reachable,
  ROOT,
} from "./import_graph.ts";

/** The files deno.json "exports" names, relative to the root. */
function entryPoints(): string[] {
  const exports = JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8")).exports as
    | string
    | Record<string, string>;
  const targets = typeof exports === "string" ? [exports] : Object.values(exports);
  return targets.map((target) => target.replace(/^\.\//, ""));
}

/** Non-underscore files under src/ that no entry point reaches. */
function unreached(
  graph: ImportGraph,
  files: readonly string[],
  entries: readonly string[],
): string[] {
  const seen = reachable(graph, entries);
  return files.filter((file) => !isPrivate(file) && !seen.has(file));
}

/** Imports of a private file from outside its folder, as "importer -> private file". */
function leaks(graph: ImportGraph): string[] {
  const found: string[] = [];
  for (const [importer, targets] of graph) {
    for (const target of targets) {
      if (isPrivate(target) && !insideFolderOf(importer, target)) {
        found.push(`${importer} -> ${target}`);
      }
    }
  }
  return found;
}

describe("entry points and private files", () => {
  const files = filesUnder("src");
  const entries = entryPoints();
  const graph = importGraph([...entries, ...files]);

  test("deno.json and package.json export the same subpaths, mod.ts and cli.ts among them", () => {
    assert.ok(entries.includes("mod.ts") && entries.includes("cli.ts"));
    const exportsOf = (file: string) =>
      JSON.parse(readFileSync(join(ROOT, file), "utf8")).exports as Record<string, string>;
    assert.deepEqual(exportsOf("package.json"), exportsOf("deno.json"));
  });

  test("every non-underscore file under src/ is reachable from an entry point in deno.json exports", () => {
    assert.ok(files.length > 50);
    assert.deepEqual(unreached(graph, files, entries), []);
  });

  test("a file whose name starts with _ is imported only from its own folder", () => {
    assert.deepEqual(leaks(graph), []);
  });

  test("every import names a file that exists", () => {
    const all = new Set(filesUnder("src"));
    const missing = [...graph.values()].flat().filter((target) =>
      target.startsWith("src/") && !all.has(target)
    );
    assert.deepEqual([...new Set(missing)], []);
  });

  test("the checks flag an unreached public file and a private file imported from another folder", () => {
    const toy: ImportGraph = new Map([
      ["mod.ts", ["src/a/a.ts"]],
      ["src/a/a.ts", ["src/a/_helper.ts", "src/b/_inner.ts"]],
      ["src/a/_helper.ts", []],
      ["src/b/_inner.ts", []],
      ["src/b/orphan.ts", []],
    ]);
    const toyFiles = ["src/a/a.ts", "src/a/_helper.ts", "src/b/_inner.ts", "src/b/orphan.ts"];
    assert.deepEqual(unreached(toy, toyFiles, ["mod.ts"]), ["src/b/orphan.ts"]);
    assert.deepEqual(leaks(toy), ["src/a/a.ts -> src/b/_inner.ts"]);
    assert.ok(insideFolderOf("src/a/sub/x.ts", "src/a/_helper.ts"));
  });
});
