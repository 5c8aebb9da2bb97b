/**
 * The live page of `generate | throttle | monitor - --metrics 127.0.0.1:0`
 * in headless Chromium (Debian's, driven by playwright-core): its points grow
 * while batches arrive, with no console error, and it shows the end. Set
 * BATCHCORR_UPDATE_SCREENSHOTS=1 to write docs/live_page.png.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { parseExposition, skipWithout, valueOf, waitFor } from "../service/_support.ts";
import { pipeline, records, serviceUrl, touch } from "./_cli_process.ts";

const CHROMIUM = "/usr/bin/chromium";
const SCREENSHOT = fileURLToPath(new URL("../../../docs/live_page.png", import.meta.url));
const RUN = { batches: 36, batchSize: 40, features: 6, driftBatch: 18, strength: 0.8, seed: 4 };

test(
  "the live page of monitor --metrics shows more points as batches arrive, with no console errors",
  {
    skip: skipWithout(
      "chromium",
      existsSync(CHROMIUM) ? CHROMIUM : undefined,
      "apt-get install chromium",
    ),
    timeout: 90_000,
  },
  async () => {
    assert.ok(
      existsSync(CHROMIUM),
      `${CHROMIUM} must be installed under CI (apt-get install chromium)`,
    );
    const { chromium } = await import("playwright-core");
    const dir = mkdtempSync(join(tmpdir(), "batch-corr-live-"));
    const run = pipeline(
      Object.entries(RUN).flatMap(([key, value]) => [
        `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`,
        String(value),
      ]),
      [
        ...["--first", String(1 + 3 * RUN.batchSize), "--lines", String(RUN.batchSize)],
        ...["--every-ms", "150", "--start-file", join(dir, "go"), "--end-file", join(dir, "end")],
      ],
      [
        ..."-c c -b 40 --window 4 --alert 0.2 --format ndjson".split(" "),
        ..."--metrics 127.0.0.1:0 --serve-after 60".split(" "),
      ],
    );
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    });
    try {
      const url = await serviceUrl(run.monitor);
      const page = await browser.newPage({ viewport: { width: 1040, height: 900 } });
      const errors: string[] = [];
      page.on("console", (message) => {
        if (message.type() === "error") errors.push(message.text());
      });
      page.on("pageerror", (error) => errors.push(String(error)));
      let stopping = false;
      page.on("requestfailed", (request) => {
        // The page itself closes its event stream on the service's "end" event.
        if (stopping && request.url().endsWith("/events")) return;
        errors.push(`request failed: ${request.url()} (${request.failure()?.errorText})`);
      });
      await page.goto(`${url}/`);
      const points = () => page.locator("#live-report svg circle.batch-point").count();
      await waitFor(async () => {
        const text = await (await fetch(`${url}/metrics`)).text();
        return valueOf(parseExposition(text), "batch_corr_live_clients") === 1;
      }, "the page to open its event stream");
      const before = await points();
      assert.ok(before <= 3, `only the first batches before the feed starts: ${before}`);
      touch(join(dir, "go"));
      const counts: number[] = [];
      for (let batches = 6; batches < RUN.batches; batches += 6) {
        await waitFor(() => records(run.monitor).length >= batches, `${batches} batches`, 30_000);
        counts.push(await points());
      }
      await waitFor(
        async () => (await points()) === RUN.batches,
        "every batch to be plotted",
        10_000,
      );
      assert.ok(counts.length >= 5 && counts[0]! > 0);
      for (let i = 1; i < counts.length; i++) {
        assert.ok(counts[i]! > counts[i - 1]!, `points did not grow: ${counts}`);
      }
      const all = records(run.monitor);
      assert.equal(
        await page.locator("#live-report svg circle.batch-point.alert").count(),
        all.filter((r) => r.alert).length,
      );
      assert.ok(all.some((r) => r.alert));
      assert.match(
        await page.locator("#live-status").textContent() ?? "",
        /Live: input flowing, 36 batch\(es\)/,
      );
      // The same tables as the report: the drifted features lead.
      const table = await page.locator("#live-report table.top").innerHTML();
      const leaders = [...table.matchAll(/<td>\d<\/td><td>(f\d)<\/td>/g)].map((m) => m[1]);
      assert.deepEqual(leaders.slice(0, 3).sort(), ["f0", "f1", "f2"]);
      const shot = process.env.BATCHCORR_UPDATE_SCREENSHOTS === "1"
        ? SCREENSHOT
        : join(dir, "live_page.png");
      await page.screenshot({ path: shot, fullPage: true });
      assert.ok(statSync(shot).size > 10_000);
      // The input ends: the page says so while --serve-after keeps it served.
      touch(join(dir, "end"));
      await waitFor(
        async () => (await page.locator("#live-status").getAttribute("data-state")) === "ended",
        "the page to see the input end",
      );
      stopping = true;
      run.monitor.signal("SIGTERM");
      assert.equal(await run.monitor.exited, 0, run.monitor.stderr);
      await waitFor(
        async () => (await page.locator("#live-status").getAttribute("data-state")) === "stopped",
        "the page to see the monitor stop",
      );
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
      await run.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
