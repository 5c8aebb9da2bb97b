import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { autoTol } from "../../../mod.ts";
import { main } from "../../../src/cli/main.ts";

/** Captured in-process IO for `main()`. */
function memoryIo() {
  const io = {
    out: "",
    err: "",
    stdout: { write: (text: string) => void (io.out += text) },
    stderr: { write: (text: string) => void (io.err += text) },
    stdin: () => [new Uint8Array()],
    stderrIsTty: false,
  };
  return io;
}

/** Runs `monitor` on a small file in process. */
async function monitor(extra: string[]): Promise<{ code: number; out: string; err: string }> {
  const dir = mkdtempSync(join(tmpdir(), "batch-corr-flags-"));
  try {
    const file = join(dir, "small.csv");
    writeFileSync(file, "a,b,c\n1,2,3\n2,1,4\n3,5,2\n4,3,3\n5,6,1\n6,2,5\n");
    const io = memoryIo();
    const code = await main(["monitor", file, "-c", "c", "-b", "3", ...extra], io);
    return { code, out: io.out, err: io.err };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("monitor --tol-sig", () => {
  test("a significance whose level 1 − p/2 rounds to 1 gives a numeric tolerance, not NaN (exit 0)", async () => {
    const { code, out } = await monitor([
      "--tol",
      "auto",
      "--tol-sig",
      "1e-16",
      "--format",
      "ndjson",
    ]);
    assert.equal(code, 0);
    const records = out.trim().split("\n").map((line) => JSON.parse(line));
    assert.equal(records.length, 2);
    for (const record of records) {
      assert.equal(record.tol, autoTol(3, 1e-16));
      assert.ok(
        Number.isFinite(record.tol) && Number.isFinite(record.loss),
        JSON.stringify(record),
      );
    }
  });

  test("a subnormal significance is a usage error (exit 2) naming the rule", async () => {
    const { code, err } = await monitor(["--tol", "auto", "--tol-sig", "5e-324"]);
    assert.equal(code, 2);
    assert.match(
      err,
      /--tol-sig must be a number in the open interval \(0, 1\), at least 2\^-1022/,
    );
  });
});
