/**
 * The self-contained HTML report: an inline SVG plot of the batch, running and
 * window loss per batch with the alert level, and the features most correlated
 * with each confound at the end. No scripts, no external assets.
 *
 * @module
 */

import type { BadRow } from "../input/numeric_table.ts";

/** One plotted batch. */
export interface ReportPoint {
  /** The batch index. */
  index: number;
  /** The first input line of the batch. */
  firstLine: number;
  /** The batch's own loss (NaN when it was skipped). */
  loss: number;
  /** The running loss after it. */
  running: number;
  /** The window loss after it, when a window or decay is used. */
  window: number | undefined;
  /** Whether it crossed the alert level. */
  alert: boolean;
}

/** Everything the report shows. */
export interface ReportData {
  /** What was read (a path or "standard input"). */
  source: string;
  /** Settings to list, in order. */
  settings: [string, string][];
  /** The batches, in order. */
  points: ReportPoint[];
  /** The alert level, if any. */
  alertLevel: number | undefined;
  /** Label of the window series ("window (3 batches)", "decay 0.9"). */
  windowLabel: string | undefined;
  /** Feature names. */
  features: string[];
  /** Confound names. */
  confounds: string[];
  /** Signed running correlations at the end, `(F, M)` row-major; undefined when no batch was folded in. */
  finalCorrelations: Float64Array | undefined;
  /** How many features to list per confound. */
  top: number;
  /** Rows processed and samples folded in. */
  rows: number;
  /** Samples in the running view at the end. */
  samples: number;
  /** Bad rows: the total, and the first ones with their lines. */
  badRows: { count: number; rows: BadRow[] };
  /** Skipped batches with their reason. */
  skippedBatches: { index: number; reason: string }[];
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function fmt(value: number | undefined, digits = 4): string {
  return value === undefined || !Number.isFinite(value) ? "–" : value.toFixed(digits);
}

/** Nice round tick step for a range. */
function tickStep(range: number, target: number): number {
  const raw = range / Math.max(1, target);
  const power = 10 ** Math.floor(Math.log10(raw));
  const scaled = raw / power;
  return (scaled < 1.5 ? 1 : scaled < 3.5 ? 2 : scaled < 7.5 ? 5 : 10) * power;
}

const SERIES = [
  { key: "loss", label: "batch loss", colour: "#9aa5b1", width: 1.2 },
  { key: "running", label: "running loss", colour: "#1f6feb", width: 2.2 },
  { key: "window", label: "window loss", colour: "#d4691e", width: 2.2 },
] as const;

function renderPlot(data: ReportData): string {
  const width = 960;
  const height = 380;
  const margin = { left: 64, right: 20, top: 36, bottom: 48 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const points = data.points;
  const values: number[] = [];
  for (const p of points) {
    for (const v of [p.loss, p.running, p.window]) if (v !== undefined && Number.isFinite(v)) values.push(v);
  }
  if (data.alertLevel !== undefined) values.push(data.alertLevel);
  const yMax = Math.max(1e-9, ...values) * 1.08;
  const yMin = Math.min(0, ...values);
  const n = points.length;
  const x = (i: number) => margin.left + (n <= 1 ? plotW / 2 : (i / (n - 1)) * plotW);
  const y = (v: number) => margin.top + plotH - ((v - yMin) / (yMax - yMin)) * plotH;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="Loss per batch" data-batches="${n}">`,
  );
  parts.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  const yStep = tickStep(yMax - yMin, 5);
  for (let v = Math.ceil(yMin / yStep) * yStep; v <= yMax + 1e-12; v += yStep) {
    parts.push(`<line x1="${margin.left}" x2="${width - margin.right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e6e8eb"/>`);
    parts.push(`<text x="${margin.left - 8}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" class="tick">${fmt(v, yStep < 0.01 ? 3 : 2)}</text>`);
  }
  const xStep = Math.max(1, tickStep(Math.max(1, n - 1), 10));
  for (let i = 0; i < n; i += xStep) {
    parts.push(`<line x1="${x(i).toFixed(1)}" x2="${x(i).toFixed(1)}" y1="${margin.top + plotH}" y2="${margin.top + plotH + 5}" stroke="#57606a"/>`);
    parts.push(`<text x="${x(i).toFixed(1)}" y="${margin.top + plotH + 18}" text-anchor="middle" class="tick">${i}</text>`);
  }
  parts.push(`<line x1="${margin.left}" x2="${width - margin.right}" y1="${margin.top + plotH}" y2="${margin.top + plotH}" stroke="#57606a"/>`);
  parts.push(`<line x1="${margin.left}" x2="${margin.left}" y1="${margin.top}" y2="${margin.top + plotH}" stroke="#57606a"/>`);
  parts.push(`<text x="${margin.left + plotW / 2}" y="${height - 8}" text-anchor="middle" class="axis">batch</text>`);
  parts.push(`<text transform="translate(16 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle" class="axis">loss</text>`);
  for (const p of points) {
    if (p.alert) {
      const half = n <= 1 ? 4 : Math.max(1, plotW / (n - 1) / 2);
      const left = Math.max(margin.left, x(p.index) - half);
      const right = Math.min(width - margin.right, x(p.index) + half);
      parts.push(`<rect class="alert-band" x="${left.toFixed(1)}" y="${margin.top}" width="${(right - left).toFixed(1)}" height="${plotH}" fill="#fde2e1"/>`);
    }
  }
  if (data.alertLevel !== undefined) {
    const ay = y(data.alertLevel).toFixed(1);
    parts.push(`<line class="alert-level" x1="${margin.left}" x2="${width - margin.right}" y1="${ay}" y2="${ay}" stroke="#cf222e" stroke-width="1.5" stroke-dasharray="6 4"/>`);
    parts.push(`<text x="${width - margin.right - 4}" y="${(Number(ay) - 6).toFixed(1)}" text-anchor="end" class="alert-label">alert ${fmt(data.alertLevel, 3)}</text>`);
  }
  for (const series of SERIES) {
    if (series.key === "window" && data.windowLabel === undefined) continue;
    // Skipped batches break the line rather than drawing through a NaN.
    const segments: string[][] = [[]];
    for (const p of points) {
      const v = p[series.key];
      if (v === undefined || !Number.isFinite(v)) {
        if (segments[segments.length - 1]!.length > 0) segments.push([]);
        continue;
      }
      segments[segments.length - 1]!.push(`${x(p.index).toFixed(2)},${y(v).toFixed(2)}`);
    }
    for (const segment of segments) {
      if (segment.length === 0) continue;
      parts.push(
        `<polyline class="series series-${series.key}" data-series="${series.key}" fill="none" stroke="${series.colour}" stroke-width="${series.width}" stroke-linejoin="round" points="${segment.join(" ")}"/>`,
      );
    }
  }
  // One marker per batch with a tooltip; alerts in red.
  parts.push(`<g class="batch-points">`);
  for (const p of points) {
    const v = data.windowLabel !== undefined ? p.window : p.running;
    const cy = v !== undefined && Number.isFinite(v) ? y(v) : margin.top + plotH;
    const tip = `batch ${p.index} (from line ${p.firstLine}): batch ${fmt(p.loss)}, running ${fmt(p.running)}` +
      (p.window !== undefined ? `, window ${fmt(p.window)}` : "") + (p.alert ? " – ALERT" : "");
    parts.push(
      `<circle class="batch-point${p.alert ? " alert" : ""}" data-index="${p.index}" cx="${x(p.index).toFixed(2)}" cy="${cy.toFixed(2)}" r="${n > 400 ? 1.2 : 2.6}" fill="${p.alert ? "#cf222e" : "#24292f"}"><title>${escape(tip)}</title></circle>`,
    );
  }
  parts.push(`</g>`);
  let legendX = margin.left;
  for (const series of SERIES) {
    const label = series.key === "window" ? data.windowLabel : series.label;
    if (label === undefined) continue;
    parts.push(`<line x1="${legendX}" x2="${legendX + 22}" y1="18" y2="18" stroke="${series.colour}" stroke-width="${series.width + 0.8}"/>`);
    parts.push(`<text x="${legendX + 28}" y="22" class="legend">${escape(series.key === "window" ? `window loss (${label})` : label)}</text>`);
    legendX += 40 + 7.2 * (series.key === "window" ? label.length + 14 : label.length);
  }
  parts.push(`</svg>`);
  return parts.join("\n");
}

/** The `top` features by |r| for each confound, from signed correlations. */
export function topFeatures(
  correlations: Float64Array,
  features: readonly string[],
  confounds: readonly string[],
  top: number,
): { confound: string; features: { name: string; r: number }[] }[] {
  const M = confounds.length;
  return confounds.map((confound, m) => {
    const ranked = features.map((name, f) => ({ name, r: correlations[f * M + m]! }));
    ranked.sort((a, b) => Math.abs(b.r) - Math.abs(a.r) || a.name.localeCompare(b.name));
    return { confound, features: ranked.slice(0, top) };
  });
}

function renderTopTable(data: ReportData): string {
  if (!data.finalCorrelations) return "<p>No batch was folded in, so there are no correlations to rank.</p>";
  const rows: string[] = [];
  for (const entry of topFeatures(data.finalCorrelations, data.features, data.confounds, data.top)) {
    entry.features.forEach((feature, rank) => {
      const bar = Math.round(Math.abs(feature.r) * 120);
      rows.push(
        `<tr>${rank === 0 ? `<th rowspan="${entry.features.length}" scope="rowgroup">${escape(entry.confound)}</th>` : ""}<td>${rank + 1}</td><td>${escape(feature.name)}</td><td class="num">${feature.r >= 0 ? "+" : "−"}${Math.abs(feature.r).toFixed(4)}</td><td><svg width="124" height="10" aria-hidden="true"><rect width="${bar}" height="10" fill="${feature.r >= 0 ? "#1f6feb" : "#d4691e"}"/></svg></td></tr>`,
      );
    });
  }
  return `<table class="top"><thead><tr><th>confound</th><th>#</th><th>feature</th><th>r (running, signed, before tol)</th><th>|r|</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

function renderBadRows(data: ReportData): string {
  const parts: string[] = [];
  if (data.badRows.count === 0 && data.skippedBatches.length === 0) return "<p>No bad rows and no skipped batches.</p>";
  if (data.badRows.count > 0) {
    parts.push(`<p>${data.badRows.count} bad row(s) skipped${data.badRows.rows.length < data.badRows.count ? ` (the first ${data.badRows.rows.length} listed)` : ""}:</p><ul>`);
    for (const row of data.badRows.rows) parts.push(`<li>line ${row.line}: ${escape(row.reason)}</li>`);
    parts.push("</ul>");
  }
  if (data.skippedBatches.length > 0) {
    parts.push(`<p>${data.skippedBatches.length} batch(es) skipped:</p><ul>`);
    for (const batch of data.skippedBatches) parts.push(`<li>batch ${batch.index}: ${escape(batch.reason)}</li>`);
    parts.push("</ul>");
  }
  return parts.join("");
}

/**
 * Renders the report as one HTML page with inline CSS and SVG.
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
  const alerts = data.points.filter((p) => p.alert).length;
  const firstAlert = data.points.find((p) => p.alert);
  const last = data.points[data.points.length - 1];
  const summary = [
    ["source", data.source],
    ["batches", String(data.points.length)],
    ["rows read", String(data.rows)],
    ["samples in the running view", String(data.samples)],
    ["final running loss", fmt(last?.running)],
    ...(data.windowLabel !== undefined ? [["final window loss", fmt(last?.window)]] : []),
    ["alerts", data.alertLevel === undefined ? "no alert level set" : alerts === 0 ? "none" : `${alerts} batch(es), first at batch ${firstAlert!.index} (line ${firstAlert!.firstLine})`],
    ["bad rows", String(data.badRows.count)],
  ] as [string, string][];
  const dl = (items: [string, string][]) => items.map(([k, v]) => `<dt>${escape(k)}</dt><dd>${escape(v)}</dd>`).join("");
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
<p class="sub">batch-corr monitor on ${escape(data.source)}: per batch, the loss of the batch alone, of everything so far (running)${data.windowLabel !== undefined ? ", and of the recent window" : ""}.</p>
<div class="cols"><section><h2>Summary</h2><dl>${dl(summary)}</dl></section><section><h2>Settings</h2><dl>${dl(data.settings)}</dl></section></div>
<h2>Loss per batch</h2>
<figure>${renderPlot(data)}</figure>
<h2>Features most correlated with each confound (running, at the end)</h2>
${renderTopTable(data)}
<h2>Bad input</h2>
${renderBadRows(data)}
</body>
</html>
`;
}
