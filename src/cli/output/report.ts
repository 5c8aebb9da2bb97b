/**
 * The self-contained HTML report: an inline SVG plot of the batch, running and
 * window loss per batch with the alert level, and the features most correlated
 * with each confound at the end. No scripts, no external assets.
 *
 * @module
 */

import { renderPlot } from "./_report_plot.ts";
import { escape, fmt } from "./_report_text.ts";
import type { ReportData } from "./report_data.ts";
import { ReportPoints } from "./report_points.ts";
import type { SkippedBatch } from "./skipped_batches.ts";
import { topFeatures } from "./top_features.ts";

function renderTopTable(data: ReportData): string {
  if (!data.finalCorrelations) {
    return "<p>No batch was folded in, so there are no correlations to rank.</p>";
  }
  const rows: string[] = [];
  for (
    const entry of topFeatures(data.finalCorrelations, data.features, data.confounds, data.top)
  ) {
    entry.features.forEach((feature, rank) => {
      const bar = Math.round(Math.abs(feature.r) * 120);
      rows.push(
        `<tr>${
          rank === 0
            ? `<th rowspan="${entry.features.length}" scope="rowgroup">${
              escape(entry.confound)
            }</th>`
            : ""
        }<td>${rank + 1}</td><td>${escape(feature.name)}</td><td class="num">${
          feature.r >= 0 ? "+" : "−"
        }${
          Math.abs(feature.r).toFixed(4)
        }</td><td><svg width="124" height="10" aria-hidden="true"><rect width="${bar}" height="10" fill="${
          feature.r >= 0 ? "#1f6feb" : "#d4691e"
        }"/></svg></td></tr>`,
      );
    });
  }
  return `<table class="top"><thead><tr><th>confound</th><th>#</th><th>feature</th><th>r (running, signed, before tol)</th><th>|r|</th></tr></thead><tbody>${
    rows.join("")
  }</tbody></table>`;
}

/** The skipped batches as a count and the first ones, whichever form they were given in. */
function skippedOf(data: ReportData): { count: number; batches: readonly SkippedBatch[] } {
  const skipped = data.skippedBatches;
  return "count" in skipped ? skipped : { count: skipped.length, batches: skipped };
}

function renderBadRows(data: ReportData): string {
  const parts: string[] = [];
  if (data.badRows.count === 0 && skippedOf(data).count === 0) {
    return "<p>No bad rows and no skipped batches.</p>";
  }
  if (data.badRows.count > 0) {
    parts.push(
      `<p>${data.badRows.count} bad row(s) skipped${
        data.badRows.rows.length < data.badRows.count
          ? ` (the first ${data.badRows.rows.length} listed)`
          : ""
      }:</p><ul>`,
    );
    for (const row of data.badRows.rows) {
      parts.push(`<li>line ${row.line}: ${escape(row.reason)}</li>`);
    }
    parts.push("</ul>");
  }
  const skipped = skippedOf(data);
  if (skipped.count > 0) {
    parts.push(
      `<p>${skipped.count} batch(es) skipped${
        skipped.batches.length < skipped.count
          ? ` (the first ${skipped.batches.length} listed)`
          : ""
      }:</p><ul>`,
    );
    for (const batch of skipped.batches) {
      parts.push(`<li>batch ${batch.index}: ${escape(batch.reason)}</li>`);
    }
    parts.push("</ul>");
  }
  return parts.join("");
}

/** Says how a plot with too many batches for a point each was drawn. */
function downsampleNote(plot: ReportPoints): string {
  if (plot.exact !== undefined) return "";
  const groups = plot.buckets().length;
  return `<p class="sub">${plot.count} batches, drawn as ${groups} groups of ${plot.bucketWidth} consecutive batches (the last may hold fewer): each group keeps the first, last, smallest and largest value of each series, and every group holding an alert is shaded and marked.</p>\n`;
}

/**
 * Renders the report as one HTML page with inline CSS and SVG. Any number of
 * batches renders: past a few thousand the plot is drawn from
 * {@linkcode ReportPoints}' buckets, with exact extremes and every alert.
 *
 * @param data What to show.
 * @returns The HTML text.
 *
 * @example A two-batch report
 * ```ts
 * import { renderReport } from "./report.ts";
 * import assert from "node:assert/strict";
 *
 * const html = renderReport({
 *   source: "x.csv", settings: [], alertLevel: 0.2, windowLabel: undefined, features: ["a"], confounds: ["c"],
 *   points: [{ index: 0, firstLine: 2, loss: 0.1, running: 0.1, window: undefined, alert: false },
 *            { index: 1, firstLine: 12, loss: 0.3, running: 0.25, window: undefined, alert: true }],
 *   finalCorrelations: new Float64Array([0.5]), top: 5, rows: 20, samples: 20,
 *   badRows: { count: 0, rows: [] }, skippedBatches: [],
 * });
 * assert.equal(html.match(/<circle class="batch-point/g)?.length, 2);
 * ```
 */
export function renderReport(data: ReportData): string {
  const plot = data.points instanceof ReportPoints ? data.points : ReportPoints.of(data.points);
  const alerts = plot.alerts;
  const firstAlert = plot.firstAlert;
  const last = plot.last;
  const summary = [
    ["source", data.source],
    ["batches", String(plot.count)],
    ["rows read", String(data.rows)],
    ["samples in the running view", String(data.samples)],
    ["final running loss", fmt(last?.running)],
    ...(data.windowLabel !== undefined ? [["final window loss", fmt(last?.window)]] : []),
    [
      "alerts",
      data.alertLevel === undefined
        ? "no alert level set"
        : alerts === 0
        ? "none"
        : `${alerts} batch(es), first at batch ${firstAlert!.index} (line ${
          firstAlert!.firstLine
        })`,
    ],
    ["bad rows", String(data.badRows.count)],
  ] as [string, string][];
  const dl = (items: [string, string][]) =>
    items.map(([k, v]) => `<dt>${escape(k)}</dt><dd>${escape(v)}</dd>`).join("");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>batch-corr drift report: ${escape(data.source)}</title>
<style>
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #24292f; margin: 24px auto; max-width: 1000px; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; }
.sub { color: #57606a; margin: 0 0 16px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0; }
dt { color: #57606a; } dd { margin: 0; }
.cols { display: grid; grid-template-columns: 1fr 1fr; gap: 24px; }
svg text.tick { font-size: 11px; fill: #57606a; } svg text.axis { font-size: 12px; fill: #24292f; }
svg text.legend { font-size: 12px; fill: #24292f; } svg text.alert-label { font-size: 11px; fill: #cf222e; }
figure { margin: 0; border: 1px solid #d0d7de; border-radius: 6px; padding: 8px; overflow-x: auto; }
table { border-collapse: collapse; } th, td { padding: 3px 10px; border-bottom: 1px solid #eaeef2; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tbody th { vertical-align: top; }
</style>
</head>
<body>
<h1>Confound correlation drift</h1>
<p class="sub">batch-corr monitor on ${
    escape(data.source)
  }: per batch, the loss of the batch alone, of everything so far (running)${
    data.windowLabel !== undefined ? ", and of the recent window" : ""
  }.</p>
<div class="cols"><section><h2>Summary</h2><dl>${
    dl(summary)
  }</dl></section><section><h2>Settings</h2><dl>${dl(data.settings)}</dl></section></div>
<h2>Loss per batch</h2>
${downsampleNote(plot)}<figure>${renderPlot(data, plot)}</figure>
<h2>Features most correlated with each confound (running, at the end)</h2>
${renderTopTable(data)}
<h2>Bad input</h2>
${renderBadRows(data)}
</body>
</html>
`;
}
