/**
 * The live page in headless Chromium (Debian's, driven by playwright-core):
 * its points grow while batches arrive, with no console error. Set
 * BATCHCORR_UPDATE_SCREENSHOTS=1 to write docs/live_page.png.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { startMonitorService } from "../../../src/cli/service/monitor_service.ts";
import { RunState } from "./_live_data.ts";
import { skipWithout, sleep, waitFor } from "./_support.ts";

const CHROMIUM = "/usr/bin/chromium";
const SCREENSHOT = fileURLToPath(new URL("../../../docs/live_page.png", import.meta.url));
const RUN = {
  batches: 36,
  batchSize: 40,
  features: 6,
  driftBatch: 18,
  strength: 0.8,
  seed: 4,
  window: 4,
  alert: 0.2,
};

test(
  "the live page shows more points as batches arrive, with no console errors",
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
    const state = new RunState(RUN);
    const service = await startMonitorService({
      listen: "127.0.0.1:0",
      features: state.features,
      confounds: state.confounds,
      alertLevel: RUN.alert,
      correlations: () => state.correlations(),
      report: () => state.report(),
      live: { minIntervalMs: 50 },
    });
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
    const dir = mkdtempSync(join(tmpdir(), "batch-corr-live-"));
    try {
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
      await page.goto(`${service.url}/`);
      const points = () => page.locator("#live-report svg circle.batch-point").count();
      assert.equal(await points(), 0);
      await waitFor(() => service.liveStats().clients === 1, "the page to open its event stream");
      const counts: number[] = [];
      for await (const { result, alert } of state.results()) {
        service.recordBatch(result, {
          alert,
          rows: { read: (result.index + 1) * RUN.batchSize, rejected: 0 },
        });
        await sleep(80);
        if (result.index % 6 === 5) counts.push(await points());
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
      assert.equal(
        await page.locator("#live-report svg circle.batch-point.alert").count(),
        state.points.filter((p) => p.alert).length,
      );
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
      service.endInput();
      stopping = true;
      await service.close();
      await waitFor(
        async () => (await page.locator("#live-status").getAttribute("data-state")) === "stopped",
        "the page to see the end",
      );
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
      await service.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
