import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../../../src/cli/main.ts";
import { renderReport } from "../../../src/cli/output/report.ts";
import { topFeatures } from "../../../src/cli/output/top_features.ts";
import { driftDataLines } from "../../../src/cli/input/drift_data.ts";

const CHROMIUM = "/usr/bin/chromium";
const BATCHES = 16;

let dir = "";
let reportPath = "";
let ndjsonOut = "";

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "batch-corr-report-"));
  const data = join(dir, "drift.csv");
  writeFileSync(
    data,
    [...driftDataLines({
      batches: BATCHES,
      batchSize: 30,
      features: 6,
      driftBatch: 9,
      strength: 0.8,
      seed: 2,
    }, "csv")].join(""),
  );
  reportPath = join(dir, "report.html");
  const io = {
    stdout: { write: (text: string) => void (ndjsonOut += text) },
    stderr: { write: () => {} },
    stdin: () => [],
    stderrIsTty: false,
  };
  const code = await main([
    "monitor",
    data,
    "-c",
    "c",
    "-b",
    "30",
    "-w",
    "3",
    "--alert",
    "0.15",
    "--format",
    "ndjson",
    "--report",
    reportPath,
  ], io);
  assert.equal(code, 3);
});

after(() => rmSync(dir, { recursive: true, force: true }));

describe("renderReport()", () => {
  test("is one self-contained page: no scripts, no external assets", () => {
    const html = readFileSync(reportPath, "utf8");
    assert.doesNotMatch(html, /<script|<link|src=|@import|url\(/i);
    assert.equal(html.match(/<svg xmlns/g)?.length, 1);
  });

  test("plots one point per batch on each series and marks the alerted batches", () => {
    const html = readFileSync(reportPath, "utf8");
    const records = ndjsonOut.trim().split("\n").map((line) => JSON.parse(line));
    assert.equal(html.match(/<circle class="batch-point/g)?.length, BATCHES);
    for (const series of ["loss", "running", "window"]) {
      const match = html.match(new RegExp(`data-series="${series}"[^>]*points="([^"]*)"`));
      assert.ok(match, series);
      assert.equal(match[1]!.split(" ").length, BATCHES, series);
    }
    assert.equal(
      html.match(/class="batch-point alert"/g)?.length ?? 0,
      records.filter((r) => r.alert).length,
    );
    assert.match(html, /class="alert-level"/);
  });

  test("ranks the features by |r| with each confound", () => {
    const ranked = topFeatures(
      new Float64Array([0.1, -0.2, 0.9, 0.0, -0.5, 0.3]),
      ["a", "b", "c"],
      ["m", "n"],
      2,
    );
    assert.deepEqual(ranked, [
      { confound: "m", features: [{ name: "b", r: 0.9 }, { name: "c", r: -0.5 }] },
      { confound: "n", features: [{ name: "c", r: 0.3 }, { name: "a", r: -0.2 }] },
    ]);
    // The drifted features of the generated data (f0..f2) lead the table.
    const html = readFileSync(reportPath, "utf8");
    const order = [...html.matchAll(/<td>\d<\/td><td>(f\d)<\/td>/g)].map((m) => m[1]);
    assert.deepEqual(order.slice(0, 3).sort(), ["f0", "f1", "f2"]);
  });

  test("escapes names taken from the input", () => {
    const html = renderReport({
      source: "<x>.csv",
      settings: [["a", "<b>"]],
      points: [],
      alertLevel: undefined,
      windowLabel: undefined,
      features: ["<f>"],
      confounds: ["c&"],
      finalCorrelations: new Float64Array([0.5]),
      top: 1,
      rows: 0,
      samples: 0,
      badRows: {
        count: 1,
        rows: [{ line: 3, kind: "non_numeric", reason: 'non-numeric value "<i>"' }],
      },
      skippedBatches: [],
    });
    assert.doesNotMatch(html, /<x>|<b>|<f>|<i>|c&</);
  });
});

describe("the report in headless Chromium", () => {
  const reason = existsSync(CHROMIUM)
    ? undefined
    : `${CHROMIUM} is missing (install Debian's chromium)`;
  test("opens without console errors, shows one point per batch, and is screenshotted", {
    skip: reason,
    timeout: 60_000,
  }, async () => {
    const { chromium } = await import("playwright-core");
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1040, height: 900 } });
      const errors: string[] = [];
      page.on("console", (message) => {
        if (message.type() === "error") errors.push(message.text());
      });
      page.on("pageerror", (error) => errors.push(String(error)));
      page.on("requestfailed", (request) => errors.push(`request failed: ${request.url()}`));
      await page.goto(`file://${reportPath}`);
      assert.equal(await page.locator("svg circle.batch-point").count(), BATCHES);
      const box = await page.locator("figure svg").boundingBox();
      assert.ok(box && box.width > 600 && box.height > 300, `plot box ${JSON.stringify(box)}`);
      const shot = join(dir, "report.png");
      await page.screenshot({ path: shot, fullPage: true });
      assert.ok(statSync(shot).size > 10_000);
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  });
});
