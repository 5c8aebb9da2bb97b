import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openRegularFile, openRegularFileSync } from "../../src/core/open_regular_file.ts";

const WHERE = { context: "read the table", subject: "file", hint: "pass its bytes" };

/** A folder with a 5-byte file, a folder and, where mkfifo exists, a named pipe. */
function paths() {
  const dir = mkdtempSync(join(tmpdir(), "batch-corr-open-"));
  const file = join(dir, "five.bin");
  writeFileSync(file, new Uint8Array([1, 2, 3, 4, 5]));
  const pipe = join(dir, "pipe");
  const hasPipe = spawnSync("mkfifo", [pipe]).status === 0;
  return {
    dir,
    file,
    pipe: hasPipe ? pipe : undefined,
    close: () => rmSync(dir, { recursive: true }),
  };
}

describe("openRegularFile() and openRegularFileSync()", () => {
  test("open a regular file with its size", async () => {
    const at = paths();
    try {
      const opened = await openRegularFile(at.file, WHERE);
      assert.equal(opened.size, 5);
      const out = new Uint8Array(5);
      assert.equal((await opened.handle.read(out, 0, 5, 0)).bytesRead, 5);
      assert.deepEqual([...out], [1, 2, 3, 4, 5]);
      await opened.handle.close();
      const sync = openRegularFileSync(new URL(`file://${at.file}`), WHERE);
      assert.equal(sync.size, 5);
      closeSync(sync.fd);
    } finally {
      at.close();
    }
  });

  test("refuse a directory, a named pipe (without waiting for a writer) and a device, naming the path and its kind", async () => {
    const at = paths();
    try {
      const cases: [string, string][] = [[at.dir, "a directory"], ["/dev/null", "a device"]];
      if (at.pipe !== undefined) cases.push([at.pipe, "a pipe"]);
      for (const [path, kind] of cases) {
        const expected = new RegExp(
          `^Cannot read the table as file must be a path to a regular file \\(read by position\\): current value is "${path}" \\(${kind}\\); pass its bytes$`,
        );
        const refused = (error: Error) => {
          assert.ok(error instanceof TypeError);
          assert.match(error.message, expected);
          return true;
        };
        await assert.rejects(openRegularFile(path, WHERE), refused);
        assert.throws(() => openRegularFileSync(path, WHERE), refused);
      }
    } finally {
      at.close();
    }
  });

  test("reject a missing path with the system's error and its code", async () => {
    const at = paths();
    try {
      const missing = join(at.dir, "nope.bin");
      await assert.rejects(
        openRegularFile(missing, WHERE),
        (error: Error & { code?: string }) => error.code === "ENOENT",
      );
      assert.throws(
        () => openRegularFileSync(missing, WHERE),
        (error: Error & { code?: string }) => error.code === "ENOENT",
      );
    } finally {
      at.close();
    }
  });
});
