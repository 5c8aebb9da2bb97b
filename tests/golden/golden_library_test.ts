import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  computeGolden,
  differences,
  engine,
  type GoldenFile,
  storedFor,
} from "./golden_library_cases.ts";

describe("library outputs against the golden fixture", () => {
  test("every library path gives bit for bit the outputs stored before the refactoring", async () => {
    const stored = JSON.parse(
      readFileSync(new URL("../fixtures/golden_library.json", import.meta.url), "utf8"),
    ) as GoldenFile;
    const expected = storedFor(stored);
    const actual = JSON.parse(JSON.stringify(await computeGolden()));
    const found = differences(expected, actual);
    assert.deepEqual(
      found.slice(0, 20),
      [],
      `${found.length} outputs differ from the golden fixture under ${engine()}`,
    );
    // The fixture covers every section, and each section holds cases.
    assert.deepEqual(Object.keys(actual).sort(), Object.keys(stored.golden).sort());
    for (const section of Object.values(stored.golden)) assert.ok(Object.keys(section).length > 0);
  });

  test("a changed bit is reported at its path", () => {
    const stored = { a: { b: ["n:3ff0000000000000", "a64:0000000000000000"] } };
    const changed = { a: { b: ["n:3ff0000000000001", "a64:0000000000000000"] } };
    assert.deepEqual(differences(stored, changed), [
      '/a/b/0: stored "n:3ff0000000000000", now "n:3ff0000000000001"',
    ]);
    assert.deepEqual(differences(stored, structuredClone(stored)), []);
  });
});
