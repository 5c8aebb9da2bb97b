/**
 * The report's inline SVG plot: the batch, running and window loss per
 * batch, the alert level and the alerted batches.
 *
 * @module
 */

import { escape, fmt } from "./_report_text.ts";
import type { ReportData, ReportPoint } from "./report_data.ts";
import type { PointBucket, ReportPoints, SeriesKey, SeriesValue } from "./report_points.ts";

/** Where the plot's parts go. */
interface Geometry {
  x(index: number): number;
  y(value: number): number;
  n: number;
  plotW: number;
  plotH: number;
  margin: { left: number; right: number; top: number; bottom: number };
  width: number;
}

/** The half width of one batch's column, at least a pixel so that every alert shows. */
function halfColumn(g: Geometry): number {
  return g.n <= 1 ? 4 : Math.max(1, g.plotW / (g.n - 1) / 2);
}

function alertBand(g: Geometry, first: number, last: number, data: string): string {
  const half = halfColumn(g);
  const left = Math.max(g.margin.left, g.x(first) - half);
  const right = Math.min(g.width - g.margin.right, g.x(last) + half);
  return `<rect class="alert-band"${data} x="${left.toFixed(1)}" y="${g.margin.top}" width="${
    (right - left).toFixed(1)
  }" height="${g.plotH}" fill="#fde2e1"/>`;
}

/** One band per alerted batch. */
function exactAlertBands(points: readonly ReportPoint[], g: Geometry): string[] {
  return points.filter((p) => p.alert).map((p) => alertBand(g, p.index, p.index, ""));
}

/** One band over each bucket holding an alert: every alerted batch lies under a band. */
function bucketAlertBands(buckets: readonly PointBucket[], g: Geometry): string[] {
  return buckets.filter((b) => b.alerts > 0).map((b) =>
    alertBand(
      g,
      b.firstIndex,
      b.lastIndex,
      ` data-first="${b.firstIndex}" data-last="${b.lastIndex}" data-alerts="${b.alerts}"`,
    )
  );
}

/** Each point of a series; a batch without a finite value breaks the line. */
function exactSegments(points: readonly ReportPoint[], key: SeriesKey, g: Geometry): string[][] {
  // Skipped batches break the line rather than drawing through a NaN.
  const segments: string[][] = [[]];
  for (const p of points) {
    const v = p[key];
    if (v === undefined || !Number.isFinite(v)) {
      if (segments[segments.length - 1]!.length > 0) segments.push([]);
      continue;
    }
    segments[segments.length - 1]!.push(`${g.x(p.index).toFixed(2)},${g.y(v).toFixed(2)}`);
  }
  return segments;
}

/** Per bucket, its first, smallest, largest and last value in batch order, so the extremes are drawn exactly. */
function bucketSegments(buckets: readonly PointBucket[], key: SeriesKey, g: Geometry): string[][] {
  const segments: string[][] = [[]];
  for (const bucket of buckets) {
    const { first, min, max, last, gap } = bucket.series[key];
    const seen = new Set<number>();
    const vertices = [first, min, max, last]
      .filter((v): v is SeriesValue => v !== undefined && !seen.has(v.index) && !!seen.add(v.index))
      .sort((a, b) => a.index - b.index);
    for (const v of vertices) {
      segments[segments.length - 1]!.push(`${g.x(v.index).toFixed(2)},${g.y(v.value).toFixed(2)}`);
    }
    if (gap && segments[segments.length - 1]!.length > 0) segments.push([]);
  }
  return segments;
}

/** One marker per batch with a tooltip; alerts in red. */
function exactMarkers(points: readonly ReportPoint[], data: ReportData, g: Geometry): string[] {
  return points.map((p) => {
    const v = data.windowLabel !== undefined ? p.window : p.running;
    const cy = v !== undefined && Number.isFinite(v) ? g.y(v) : g.margin.top + g.plotH;
    const tip =
      `batch ${p.index} (from line ${p.firstLine}): batch ${fmt(p.loss)}, running ${
        fmt(p.running)
      }` +
      (p.window !== undefined ? `, window ${fmt(p.window)}` : "") + (p.alert ? " – ALERT" : "");
    return `<circle class="batch-point${p.alert ? " alert" : ""}" data-index="${p.index}" cx="${
      g.x(p.index).toFixed(2)
    }" cy="${cy.toFixed(2)}" r="${g.n > 400 ? 1.2 : 2.6}" fill="${
      p.alert ? "#cf222e" : "#24292f"
    }"><title>${escape(tip)}</title></circle>`;
  });
}

/** Too many batches for a marker each: one red marker per bucket holding alerts, at its first alert. */
function bucketMarkers(plot: ReportPoints, g: Geometry): string[] {
  return plot.buckets().filter((b) => b.firstAlert !== undefined).map((b) => {
    const p = b.firstAlert!;
    const tip =
      `batches ${b.firstIndex}–${b.lastIndex} (from line ${b.firstLine}): ${b.alerts} ALERT(s), ` +
      `first at batch ${p.index} (line ${p.firstLine})`;
    return `<circle class="batch-point alert" data-index="${p.index}" cx="${
      g.x(p.index).toFixed(2)
    }" cy="${(g.margin.top + 6).toFixed(2)}" r="2.6" fill="#cf222e"><title>${
      escape(tip)
    }</title></circle>`;
  });
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

/** The smallest and largest finite value of every series (and the alert level), in one pass. */
function valueRange(plot: ReportPoints, alertLevel: number | undefined): [number, number] {
  // A loop, not Math.max(...values): a spread of one argument per batch overflows the stack.
  let low = 0;
  let high = 1e-9;
  const take = (v: number | undefined) => {
    if (v === undefined || !Number.isFinite(v)) return;
    if (v < low) low = v;
    if (v > high) high = v;
  };
  for (const bucket of plot.buckets()) {
    for (const series of Object.values(bucket.series)) {
      take(series.min?.value);
      take(series.max?.value);
    }
  }
  take(alertLevel);
  return [low, high];
}

/** The SVG plot of the losses per batch. */
export function renderPlot(data: ReportData, plot: ReportPoints): string {
  const width = 960;
  const height = 380;
  const margin = { left: 64, right: 20, top: 36, bottom: 48 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const [low, high] = valueRange(plot, data.alertLevel);
  const yMax = high * 1.08;
  const yMin = low;
  const n = plot.count;
  const x = (i: number) => margin.left + (n <= 1 ? plotW / 2 : (i / (n - 1)) * plotW);
  const y = (v: number) => margin.top + plotH - ((v - yMin) / (yMax - yMin)) * plotH;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="Loss per batch" data-batches="${n}">`,
  );
  parts.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  const yStep = tickStep(yMax - yMin, 5);
  for (let v = Math.ceil(yMin / yStep) * yStep; v <= yMax + 1e-12; v += yStep) {
    parts.push(
      `<line x1="${margin.left}" x2="${width - margin.right}" y1="${y(v).toFixed(1)}" y2="${
        y(v).toFixed(1)
      }" stroke="#e6e8eb"/>`,
    );
    parts.push(
      `<text x="${margin.left - 8}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" class="tick">${
        fmt(v, yStep < 0.01 ? 3 : 2)
      }</text>`,
    );
  }
  const xStep = Math.max(1, tickStep(Math.max(1, n - 1), 10));
  for (let i = 0; i < n; i += xStep) {
    parts.push(
      `<line x1="${x(i).toFixed(1)}" x2="${x(i).toFixed(1)}" y1="${margin.top + plotH}" y2="${
        margin.top + plotH + 5
      }" stroke="#57606a"/>`,
    );
    parts.push(
      `<text x="${x(i).toFixed(1)}" y="${
        margin.top + plotH + 18
      }" text-anchor="middle" class="tick">${i}</text>`,
    );
  }
  parts.push(
    `<line x1="${margin.left}" x2="${width - margin.right}" y1="${margin.top + plotH}" y2="${
      margin.top + plotH
    }" stroke="#57606a"/>`,
  );
  parts.push(
    `<line x1="${margin.left}" x2="${margin.left}" y1="${margin.top}" y2="${
      margin.top + plotH
    }" stroke="#57606a"/>`,
  );
  parts.push(
    `<text x="${margin.left + plotW / 2}" y="${
      height - 8
    }" text-anchor="middle" class="axis">batch</text>`,
  );
  parts.push(
    `<text transform="translate(16 ${
      margin.top + plotH / 2
    }) rotate(-90)" text-anchor="middle" class="axis">loss</text>`,
  );
  const geometry = { x, y, n, plotW, plotH, margin, width };
  const exact = plot.exact;
  // Appended one by one: a spread of one argument per element would meet the engine's argument limit.
  const append = (items: readonly string[]) => {
    for (const item of items) parts.push(item);
  };
  append(
    exact !== undefined
      ? exactAlertBands(exact, geometry)
      : bucketAlertBands(plot.buckets(), geometry),
  );
  if (data.alertLevel !== undefined) {
    const ay = y(data.alertLevel).toFixed(1);
    parts.push(
      `<line class="alert-level" x1="${margin.left}" x2="${
        width - margin.right
      }" y1="${ay}" y2="${ay}" stroke="#cf222e" stroke-width="1.5" stroke-dasharray="6 4"/>`,
    );
    parts.push(
      `<text x="${width - margin.right - 4}" y="${
        (Number(ay) - 6).toFixed(1)
      }" text-anchor="end" class="alert-label">alert ${fmt(data.alertLevel, 3)}</text>`,
    );
  }
  for (const series of SERIES) {
    if (series.key === "window" && data.windowLabel === undefined) continue;
    const segments = exact !== undefined
      ? exactSegments(exact, series.key, geometry)
      : bucketSegments(plot.buckets(), series.key, geometry);
    for (const segment of segments) {
      if (segment.length === 0) continue;
      parts.push(
        `<polyline class="series series-${series.key}" data-series="${series.key}" fill="none" stroke="${series.colour}" stroke-width="${series.width}" stroke-linejoin="round" points="${
          segment.join(" ")
        }"/>`,
      );
    }
  }
  parts.push(`<g class="batch-points">`);
  append(exact !== undefined ? exactMarkers(exact, data, geometry) : bucketMarkers(plot, geometry));
  parts.push(`</g>`);
  let legendX = margin.left;
  for (const series of SERIES) {
    const label = series.key === "window" ? data.windowLabel : series.label;
    if (label === undefined) continue;
    parts.push(
      `<line x1="${legendX}" x2="${
        legendX + 22
      }" y1="18" y2="18" stroke="${series.colour}" stroke-width="${series.width + 0.8}"/>`,
    );
    parts.push(
      `<text x="${legendX + 28}" y="22" class="legend">${
        escape(series.key === "window" ? `window loss (${label})` : label)
      }</text>`,
    );
    legendX += 40 + 7.2 * (series.key === "window" ? label.length + 14 : label.length);
  }
  parts.push(`</svg>`);
  return parts.join("\n");
}
