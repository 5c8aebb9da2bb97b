import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../../../src/cli/main.ts";
import { renderReport } from "../../../src/cli/output/report.ts";
import { topFeatures } from "../../../src/cli/output/top_features.ts";
import type { ReportPoint } from "../../../src/cli/output/report_data.ts";
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

/** The loss polyline vertices of a report, joined over its segments. */
function seriesVertices(html: string, series: string): string[] {
  return [...html.matchAll(new RegExp(`data-series="${series}"[^>]*points="([^"]*)"`, "g"))]
    .flatMap((match) => match[1]!.split(" "));
}

describe("renderReport() with very many batches", () => {
  const N = 600_000;
  const ALERTS = [0, 1, 77_777, 300_000, 300_001, 512_345, N - 1];
  const SKIPPED = new Set([5, 200_000, 450_123]);
  const PEAK = { index: 123_457, value: 5 };
  const DIP = { index: 345_678, value: -0.5 };
  /** A wavy loss with one peak and one dip, three skipped batches, seven alerts. */
  function points(): ReportPoint[] {
    const alerts = new Set(ALERTS);
    return Array.from({ length: N }, (_, i) => {
      const loss = i === PEAK.index
        ? PEAK.value
        : i === DIP.index
        ? DIP.value
        : SKIPPED.has(i)
        ? Number.NaN
        : 0.1 + 0.05 * Math.sin(i / 1000);
      return {
        index: i,
        firstLine: 2 + 3 * i,
        loss,
        running: 0.1 + 0.01 * Math.cos(i / 5000),
        window: undefined,
        alert: alerts.has(i),
      };
    });
  }
  let html = "";

  before(() => {
    html = renderReport({
      source: "many.csv",
      settings: [],
      points: points(),
      alertLevel: 0.4,
      windowLabel: undefined,
      features: ["a"],
      confounds: ["c"],
      finalCorrelations: new Float64Array([0.5]),
      top: 1,
      rows: 3 * N,
      samples: 3 * N,
      badRows: { count: 0, rows: [] },
      skippedBatches: [...SKIPPED].map((index) => ({ index, reason: "too small" })),
    });
  });

  test("renders 600,000 batches (no spread over every value) in a page of bounded size", () => {
    assert.match(html, new RegExp(`data-batches="${N}"`));
    assert.match(html, /<dt>batches<\/dt><dd>600000<\/dd>/);
    assert.ok(html.length < 1_000_000, `${html.length} characters`);
    assert.match(html, /600000 batches, drawn as \d+ groups of 1024 consecutive batches/);
  });

  test("draws at most four vertices per group of a series, about one group per pixel", () => {
    const loss = seriesVertices(html, "loss");
    const running = seriesVertices(html, "running");
    assert.ok(loss.length <= 4 * 1024 && running.length <= 4 * 1024, `${loss.length} vertices`);
    assert.ok(running.length > 1000);
  });

  test("keeps the exact extremes: the peak and the dip are vertices at their batch and value", () => {
    // The plot's own scale: y from min(0, values) to 1.08 × max(values, alert level), x over N − 1.
    const [yMin, yMax] = [DIP.value, PEAK.value * 1.08];
    const at = (i: number, v: number) =>
      `${(64 + (i / (N - 1)) * 876).toFixed(2)},${
        (36 + 296 - ((v - yMin) / (yMax - yMin)) * 296).toFixed(2)
      }`;
    const loss = seriesVertices(html, "loss");
    assert.ok(loss.includes(at(PEAK.index, PEAK.value)), "the peak is not drawn where it is");
    assert.ok(loss.includes(at(DIP.index, DIP.value)), "the dip is not drawn where it is");
  });

  test("keeps every alert: each alerted batch lies under a shaded band, and the count is exact", () => {
    const bands = [
      ...html.matchAll(
        /class="alert-band" data-first="(\d+)" data-last="(\d+)" data-alerts="(\d+)"/g,
      ),
    ]
      .map((match) => [Number(match[1]), Number(match[2]), Number(match[3])]);
    for (const alert of ALERTS) {
      assert.ok(bands.some(([first, last]) => first! <= alert && alert <= last!), `batch ${alert}`);
    }
    assert.equal(bands.reduce((total, band) => total + band[2]!, 0), ALERTS.length);
    assert.match(html, /<dt>alerts<\/dt><dd>7 batch\(es\), first at batch 0 \(line 2\)<\/dd>/);
  });

  test("breaks a series at a skipped batch instead of drawing through it", () => {
    assert.ok(html.match(/data-series="loss"/g)!.length >= 2);
    assert.equal(html.match(/data-series="running"/g)!.length, 1);
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
