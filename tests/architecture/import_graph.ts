/**
 * The import graph of the package's own files (mod.ts, cli.ts and src/),
 * read from their sources in both Deno and Bun: static imports and
 * re-exports (type-only ones included: they couple files as much), and
 * dynamic `import("./…")`. Only relative specifiers are edges; packages are not.
 *
 * @module
 */

import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** File → the files it imports, paths relative to the root with forward slashes. */
export type ImportGraph = Map<string, string[]>;

const STATIC = /^(?:import|export)\b[^;]*?\bfrom\s+["'](\.{1,2}\/[^"']+)["']/gms;
const BARE = /^import\s+["'](\.{1,2}\/[^"']+)["']/gm;
const DYNAMIC = /\bimport\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g;

/** Blanks comments (JSDoc examples hold import lines that are not imports), keeping strings intact. */
function withoutComments(source: string): string {
  let out = "";
  let i = 0;
  while (i < source.length) {
    const c = source[i]!, next = source[i + 1];
    if (c === "/" && next === "*") {
      const end = source.indexOf("*/", i + 2);
      i = end < 0 ? source.length : end + 2;
      out += " ";
    } else if (c === "/" && next === "/") {
      while (i < source.length && source[i] !== "\n") i++;
    } else if (c === '"' || c === "'" || c === "`") {
      let j = i + 1;
      while (j < source.length && source[j] !== c) j += source[j] === "\\" ? 2 : 1;
      out += source.slice(i, j + 1);
      i = j + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/**
 * The relative specifiers a TypeScript source imports.
 *
 * @param source The file's text.
 * @returns The specifiers, in order of appearance per kind.
 */
export function importSpecifiers(source: string): string[] {
  const code = withoutComments(source);
  const found: string[] = [];
  for (const pattern of [STATIC, BARE, DYNAMIC]) {
    for (const match of code.matchAll(pattern)) found.push(match[1]!);
  }
  return found;
}

function toPosix(path: string): string {
  return path.split("\\").join("/");
}

/**
 * Every `.ts` file under a folder of the root.
 *
 * @param folder A folder relative to the root.
 * @returns Paths relative to the root.
 */
export function filesUnder(folder: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".ts")) out.push(path);
    }
  };
  walk(folder);
  return out.sort();
}

/**
 * The import graph of the given files, following their imports to files
 * outside the list too.
 *
 * @param files Paths relative to the root.
 * @returns Each file reached and the files it imports.
 */
export function importGraph(files: readonly string[]): ImportGraph {
  const graph: ImportGraph = new Map();
  const pending = [...files];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (graph.has(file)) continue;
    const targets = importSpecifiers(readFileSync(join(ROOT, file), "utf8"))
      .map((specifier) => toPosix(normalize(join(dirname(file), specifier))));
    graph.set(file, targets);
    pending.push(...targets);
  }
  return graph;
}

/**
 * The import cycles of a graph: for each strongly connected set of files
 * that import one another, one cycle through it, as a path that ends where
 * it starts.
 *
 * @param graph The graph.
 * @returns The cycles, empty when there is none.
 */
export function findCycles(graph: ImportGraph): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (file: string): void => {
    state.set(file, "open");
    stack.push(file);
    for (const target of graph.get(file) ?? []) {
      const seen = state.get(target);
      if (seen === "open") cycles.push([...stack.slice(stack.indexOf(target)), target]);
      else if (seen === undefined) visit(target);
    }
    stack.pop();
    state.set(file, "done");
  };
  for (const file of [...graph.keys()].sort()) if (!state.has(file)) visit(file);
  return cycles;
}

/**
 * The files reachable from the entry points by imports.
 *
 * @param graph The graph.
 * @param entries The entry points.
 * @returns The reachable files, entries included.
 */
export function reachable(graph: ImportGraph, entries: readonly string[]): Set<string> {
  const seen = new Set<string>();
  const pending = [...entries];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    pending.push(...(graph.get(file) ?? []));
  }
  return seen;
}

/**
 * Whether a file is private to its folder: its name starts with `_`.
 *
 * @param file A path.
 * @returns True for a private file.
 */
export function isPrivate(file: string): boolean {
  return file.split("/").at(-1)!.startsWith("_");
}

/**
 * Whether `importer` may import the private file `target`: only files in the
 * private file's folder, or below it, may.
 *
 * @param importer The importing file.
 * @param target The private file.
 * @returns True when the import stays inside the folder.
 */
export function insideFolderOf(importer: string, target: string): boolean {
  const folder = dirname(target);
  const rel = toPosix(relative(folder, dirname(importer)));
  return rel === "" || !rel.startsWith("..");
}
