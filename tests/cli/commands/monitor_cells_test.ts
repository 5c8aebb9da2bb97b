/**
 * `monitor` reads cells strictly (reliability finding 9): decimal numbers only,
 * real calendar dates read in UTC whatever the machine's time zone, and a key
 * an NDJSON object lacks is missing even when Object.prototype has it.
 * Subprocess runs, in the runtime running the tests.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../_run_cli.ts";

let dir = "";
before(() => {
  dir = mkdtempSync(join(tmpdir(), "batch-corr-cells-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const REFUSED_NUMBERS = ["0x10", "0X1F", "0b11", "0o7", "Infinity", "-Infinity", "1_000"];

/** A CSV of x and c whose x cells from data row `from` on are `cells`, one per row. */
function csvWithCells(cells: readonly string[], from: number, rows = 150): string {
  const lines = ["x,c"];
  for (let i = 1; i <= rows; i++) {
    const at = i - from;
    const x = at >= 0 && at < cells.length ? cells[at] : ((i * 7) % 13) / 4;
    lines.push(`${x},${((i * 5) % 11) / 3}`);
  }
  return `${lines.join("\n")}\n`;
}

describe("monitor reads decimal numbers only", () => {
  // Rows 5… lie in the rows read ahead to infer the columns, rows 130… in the fast byte path.
  for (const from of [5, 130]) {
    test(`refuses ${REFUSED_NUMBERS.join(", ")} from data row ${from} on as non-numeric values`, async () => {
      const file = write(`refused_${from}.csv`, csvWithCells(REFUSED_NUMBERS, from));
      const run = await runCli([
        "monitor",
        file,
        "-c",
        "c",
        "-b",
        "10",
        "--on-bad-row",
        "skip",
        "--format",
        "ndjson",
      ]);
      assert.equal(run.code, 0, run.stderr);
      REFUSED_NUMBERS.forEach((cell, k) => {
        const warning = `skipped line ${
          from + k + 1
        }: non-numeric value "${cell}" in feature column "x"`;
        assert.ok(run.stderr.includes(warning), `${cell}: ${run.stderr}`);
      });
      const n = REFUSED_NUMBERS.length;
      assert.ok(run.stderr.includes(`rows read 150, used ${150 - n}, rejected ${n}`), run.stderr);
    });
  }

  test("stops at a hexadecimal cell with exit 2 under --on-bad-row error, naming its line", async () => {
    const file = write("hex.csv", csvWithCells(["0x10"], 130));
    const run = await runCli(["monitor", file, "-c", "c", "-b", "10", "--format", "ndjson"]);
    assert.equal(run.code, 2, run.stderr);
    assert.match(
      run.stderr,
      /Cannot use line 131 as rows must have a number in every selected column \(--on-bad-row error\): non-numeric value "0x10" in feature column "x"/,
    );
  });

  test("still accepts every decimal form: signs, '1.', '.5', exponents, spaces and tabs around", async () => {
    const forms = ["+1.5", "-.5", "1.", "2e3", "-1E-2", " 3 ", "\t4.25", "007", "-0"];
    const lines = ["x,c", ...forms.map((form, i) => `${form},${i % 3}`)];
    const file = write("forms.csv", `${lines.join("\n")}\n`);
    const run = await runCli([
      "monitor",
      file,
      "-c",
      "c",
      "-b",
      "9",
      "--format",
      "ndjson",
      "--tol",
      "0",
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /rows read 9, used 9, rejected 0/);
  });

  test('NDJSON strings follow the same rule: "0x10" is non-numeric, " 2.5 " is 2.5', async () => {
    const lines = ['{"x":"1","c":1}', '{"x":" 2.5 ","c":0}', '{"x":"0x10","c":2}', '{"x":3,"c":1}'];
    const file = write("strings.ndjson", lines.join("\n"));
    const run = await runCli([
      "monitor",
      file,
      "-c",
      "c",
      "-b",
      "3",
      "--on-bad-row",
      "skip",
      "--format",
      "ndjson",
      "--tol",
      "0",
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /skipped line 3: non-numeric value "0x10" in feature column "x"/);
    assert.match(run.stderr, /rows read 4, used 3, rejected 1/);
  });
});

describe("monitor reads dates strictly, in UTC", () => {
  test("a date-time without an offset gives the same output under TZ=UTC, America/Los_Angeles and Asia/Kolkata", async () => {
    const lines = ["when,x,c"];
    for (let i = 0; i < 60; i++) {
      // Hours spread over the day, so that a local reading moves some rows to another day.
      const day = String(1 + (i % 28)).padStart(2, "0");
      const hour = String((i * 5) % 24).padStart(2, "0");
      lines.push(`2012-03-${day}T${hour}:30:00,${((i * 7) % 13) / 4},${((i * 5) % 11) / 3}`);
    }
    const file = write("dated.csv", `${lines.join("\n")}\n`);
    const args = [
      "monitor",
      file,
      "--date-column",
      "when",
      "-c",
      "when.cos,when.days",
      "-f",
      "x",
      "-b",
      "20",
      "--tol",
      "0",
      "--no-abs",
      "--format",
      "ndjson",
      "--correlations",
    ];
    const outputs = [];
    for (const zone of ["UTC", "America/Los_Angeles", "Asia/Kolkata"]) {
      const run = await runCli(args, { env: { TZ: zone } });
      assert.equal(run.code, 0, run.stderr);
      outputs.push(run.text);
    }
    assert.equal(outputs[1], outputs[0]);
    assert.equal(outputs[2], outputs[0]);
  });

  test("reads a date-time without an offset as UTC: r(x, when.cos) under TZ=Asia/Kolkata matches a UTC reference", async () => {
    const times: number[] = [];
    const xs: number[] = [];
    const lines = ["when,x,c"];
    for (let i = 0; i < 40; i++) {
      // Two days apart, at hours spread over the day: the phase moves by hours as well as days.
      const [day, hour] = [1 + 2 * (i % 14), (i * 7) % 24];
      times.push(Date.UTC(2012, 0, day, hour, 0, 0));
      xs.push(Math.sin(i) + i / 10);
      const when = `2012-01-${String(day).padStart(2, "0")}T${String(hour).padStart(2, "0")}:00:00`;
      lines.push(`${when},${xs[i]},${i % 3}`);
    }
    const year = 366 * 86_400_000;
    const cos = times.map((t) => Math.cos((2 * Math.PI * (t - Date.UTC(2012, 0, 1))) / year));
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    const [mx, mc] = [mean(xs), mean(cos)];
    let [sxc, sxx, scc] = [0, 0, 0];
    xs.forEach((x, i) => {
      sxc += (x - mx) * (cos[i]! - mc);
      sxx += (x - mx) ** 2;
      scc += (cos[i]! - mc) ** 2;
    });
    const expected = sxc / Math.sqrt(sxx * scc);
    const file = write("utc.csv", `${lines.join("\n")}\n`);
    const run = await runCli(
      [
        "monitor",
        file,
        "--date-column",
        "when",
        "-c",
        "when.cos",
        "-f",
        "x",
        "-b",
        "40",
        "--tol",
        "0",
        "--no-abs",
        "--format",
        "ndjson",
        "--correlations",
      ],
      { env: { TZ: "Asia/Kolkata" } },
    );
    assert.equal(run.code, 0, run.stderr);
    const r = JSON.parse(run.text.trim().split("\n")[0]!).correlations.batch.data[0];
    assert.ok(Math.abs(r - expected) < 1e-12, `${r} vs ${expected}`);
  });

  test("refuses impossible or loosely written dates rather than rolling them over or guessing", async () => {
    const refused = [
      "2012-02-30",
      "2013-02-29",
      "1900-02-29",
      "2012-13-01",
      "2012-04-31",
      "2012-01-01T24:00",
      "2012-01-01T10:60",
      "2012/01/05",
      "Jan 5 2012",
    ];
    const rows = refused.map((cell, i) => `${cell},${i},${i % 2}`);
    const lines = ["when,x,c", "2012-02-28,1,2", ...rows, "2012-03-01,3,3", "2012-03-05,5,1"];
    const file = write("bad_dates.csv", `${lines.join("\n")}\n`);
    const run = await runCli([
      "monitor",
      file,
      "--date-column",
      "when",
      "-c",
      "when.days",
      "-f",
      "x",
      "--on-bad-row",
      "skip",
      "--tol",
      "0",
    ]);
    assert.equal(run.code, 0, run.stderr);
    for (const cell of refused) {
      assert.ok(
        run.stderr.includes(`invalid date "${cell}" in column "when"`),
        `${cell}: ${run.stderr}`,
      );
    }
    assert.ok(run.text.includes(`rows read 12, used 3, rejected ${refused.length}`), run.text);
  });

  test("accepts leap days, offsets and a space for T: 2012-02-29, 2000-02-29, …T00:30:00+01:00", async () => {
    const lines = [
      "when,x,c",
      "2012-02-29,1,2",
      "2000-02-29,2,1",
      "2012-03-01T00:30:00+01:00,3,3",
      "2012-03-02 12:00,4,1",
    ];
    const file = write("leap.csv", `${lines.join("\n")}\n`);
    const run = await runCli([
      "monitor",
      file,
      "--date-column",
      "when",
      "-c",
      "when.days",
      "-f",
      "x",
      "-b",
      "4",
      "--tol",
      "0",
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.ok(run.text.includes("rows read 4, used 4, rejected 0"), run.text);
  });
});

describe("monitor looks up NDJSON keys on the object only", () => {
  test("a row without the key constructor, toString, __proto__ or hasOwnProperty has a missing value", async () => {
    const keys = ["constructor", "toString", "__proto__", "hasOwnProperty"];
    const full = (x: number): Record<string, number> =>
      Object.fromEntries([["x", x], ...keys.map((key, k) => [key, x * (k + 2)]), ["c", x % 2]]);
    const lines = [full(1), full(2), full(3)].map((row) => JSON.stringify(row));
    for (const key of keys) {
      const row = full(lines.length + 1);
      delete row[key];
      lines.push(JSON.stringify(row));
    }
    const file = write("keys.ndjson", `${lines.join("\n")}\n`);
    const run = await runCli([
      "monitor",
      file,
      "-c",
      "c",
      "-f",
      `x,${keys.join(",")}`,
      "--on-bad-row",
      "skip",
      "-b",
      "3",
      "--tol",
      "0",
    ]);
    assert.equal(run.code, 0, run.stderr);
    keys.forEach((key, k) => {
      const warning = `skipped line ${4 + k}: missing value in feature column "${key}"`;
      assert.ok(run.stderr.includes(warning), `${key}: ${run.stderr}`);
    });
  });
});
