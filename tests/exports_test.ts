/**
 * Every subpath the package exports (package.json "exports" for Bun and npm,
 * deno.json "exports" for Deno and JSR) can be imported by its package name in
 * the runtime running this test, in a fresh process, and both files export
 * the same subpaths to the same files. Subpaths added later are covered
 * without editing this test.
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import process from "node:process";

const root = new URL("../", import.meta.url);
const rootPath = decodeURIComponent(root.pathname);

interface Manifest {
  name: string;
  exports: Record<string, string | Record<string, string>>;
  bin?: Record<string, string>;
  files?: string[];
  publish?: { include?: string[] };
}

function manifest(file: string): Manifest {
  return JSON.parse(readFileSync(new URL(file, root), "utf8")) as Manifest;
}

/** A package.json export target: a path, or the `import`/`default` condition of a conditions object. */
function target(value: string | Record<string, string>): string {
  if (typeof value === "string") return value;
  const chosen = value.import ?? value.default ?? value.bun ?? value.deno;
  assert.ok(chosen !== undefined, `no import or default condition in ${JSON.stringify(value)}`);
  return chosen;
}

function normalise(path: string): string {
  return path.replace(/^\.\//, "");
}

/** Whether a path is inside one of a manifest's published entries ("src/", "mod.ts"). */
function published(path: string, entries: readonly string[]): boolean {
  return entries.some((entry) => {
    const clean = normalise(entry);
    return clean.endsWith("/")
      ? path.startsWith(clean)
      : path === clean || path.startsWith(`${clean}/`);
  });
}

const pkg = manifest("package.json");
const deno = manifest("deno.json");
const isDeno = typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";
const runtime = isDeno ? "Deno" : "Bun";
const binTargets = new Set(Object.values(pkg.bin ?? {}).map(normalise));

/** Imports a specifier in a fresh process of this runtime, from the repository root, with --help as the only argument. */
function importInFreshProcess(
  specifier: string,
): { status: number | null; stdout: string; stderr: string } {
  const code = `const m = await import(${
    JSON.stringify(specifier)
  }); console.log(JSON.stringify({ exports: Object.keys(m) }));`;
  const args = isDeno ? ["eval", code, "--help"] : ["-e", code, "--", "--help"];
  const exec = isDeno
    ? (globalThis as unknown as { Deno: { execPath(): string } }).Deno.execPath()
    : process.execPath;
  const run = spawnSync(exec, args, {
    cwd: rootPath,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" },
    timeout: 120_000,
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe("package exports", () => {
  test("package.json and deno.json export the same subpaths to the same files, which exist and are published", () => {
    const npm = Object.fromEntries(
      Object.entries(pkg.exports).map(([key, value]) => [key, normalise(target(value))]),
    );
    const jsr = Object.fromEntries(
      Object.entries(deno.exports).map(([key, value]) => [key, normalise(target(value))]),
    );
    assert.deepEqual(npm, jsr);
    assert.equal(pkg.name, deno.name);
    for (const file of Object.values(npm)) {
      assert.ok(existsSync(new URL(file, root)), `${file} exists`);
      assert.ok(published(file, pkg.files ?? []), `${file} is in package.json "files"`);
      assert.ok(
        published(file, deno.publish?.include ?? []),
        `${file} is in deno.json "publish.include"`,
      );
    }
  });

  const exports = isDeno ? deno.exports : pkg.exports;
  for (const [subpath, value] of Object.entries(exports)) {
    const specifier = subpath === "." ? pkg.name : `${pkg.name}${subpath.slice(1)}`;
    const file = normalise(target(value));
    test(`import "${specifier}" works in ${runtime} (${file})`, () => {
      const run = importInFreshProcess(specifier);
      assert.equal(run.status, 0, `exit ${run.status}: ${run.stderr}`);
      if (binTargets.has(file)) {
        // The command's entry runs the command: here, its help.
        assert.match(run.stdout, /Usage/);
      } else {
        const { exports: names } = JSON.parse(run.stdout.trim().split("\n").at(-1)!) as {
          exports: string[];
        };
        assert.ok(names.length > 0, `${specifier} exports something`);
      }
    });
  }
});
