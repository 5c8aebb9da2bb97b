/**
 * The report's inline SVG plot: the batch, running and window loss per
 * batch, the alert level and the alerted batches.
 *
 * @module
 */

import { escape, fmt } from "./_report_text.ts";
import type { ReportData } from "./report_data.ts";

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

/** The SVG plot of the losses per batch. */
export function renderPlot(data: ReportData): string {
  const width = 960;
  const height = 380;
  const margin = { left: 64, right: 20, top: 36, bottom: 48 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const points = data.points;
  const values: number[] = [];
  for (const p of points) {
    for (const v of [p.loss, p.running, p.window]) {
      if (v !== undefined && Number.isFinite(v)) values.push(v);
    }
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
  for (const p of points) {
    if (p.alert) {
      const half = n <= 1 ? 4 : Math.max(1, plotW / (n - 1) / 2);
      const left = Math.max(margin.left, x(p.index) - half);
      const right = Math.min(width - margin.right, x(p.index) + half);
      parts.push(
        `<rect class="alert-band" x="${left.toFixed(1)}" y="${margin.top}" width="${
          (right - left).toFixed(1)
        }" height="${plotH}" fill="#fde2e1"/>`,
      );
    }
  }
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
        `<polyline class="series series-${series.key}" data-series="${series.key}" fill="none" stroke="${series.colour}" stroke-width="${series.width}" stroke-linejoin="round" points="${
          segment.join(" ")
        }"/>`,
      );
    }
  }
  // One marker per batch with a tooltip; alerts in red.
  parts.push(`<g class="batch-points">`);
  for (const p of points) {
    const v = data.windowLabel !== undefined ? p.window : p.running;
    const cy = v !== undefined && Number.isFinite(v) ? y(v) : margin.top + plotH;
    const tip =
      `batch ${p.index} (from line ${p.firstLine}): batch ${fmt(p.loss)}, running ${
        fmt(p.running)
      }` +
      (p.window !== undefined ? `, window ${fmt(p.window)}` : "") + (p.alert ? " – ALERT" : "");
    parts.push(
      `<circle class="batch-point${p.alert ? " alert" : ""}" data-index="${p.index}" cx="${
        x(p.index).toFixed(2)
      }" cy="${cy.toFixed(2)}" r="${n > 400 ? 1.2 : 2.6}" fill="${
        p.alert ? "#cf222e" : "#24292f"
      }"><title>${escape(tip)}</title></circle>`,
    );
  }
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
