/**
 * The live page: the HTML report (rendered by the report's own
 * `renderReport`, so the plot, tables and escaping are the same), with a
 * status line and one inline script that swaps in each update received
 * through Server-Sent Events. No external script or asset.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { renderReport, type ReportData } from "./_deps.ts";

export type { BadRow, ReportData, ReportPoint } from "./_deps.ts";

/** The path of the event stream, relative to the page. */
export const LIVE_EVENTS_PATH = "events";

// Kept small and free of dependencies; its hash goes in the page's CSP, so
// any other script (injected or not) is refused by the browser.
const LIVE_SCRIPT = `(() => {
  const root = document.getElementById("live-report");
  const status = document.getElementById("live-status");
  const show = (state, text) => { status.dataset.state = state; status.textContent = text; };
  const source = new EventSource(${JSON.stringify(LIVE_EVENTS_PATH)});
  source.addEventListener("report", (event) => { root.innerHTML = event.data; });
  source.addEventListener("status", (event) => {
    const s = JSON.parse(event.data);
    const last = s.lastBatchAt ? ", latest at " + new Date(s.lastBatchAt).toLocaleTimeString() : "";
    show(s.state, "Live: input " + s.state + ", " + s.batches + " batch(es)" + last + (s.error ? " – " + s.error : ""));
  });
  source.addEventListener("end", () => { source.close(); show("stopped", "The monitor has stopped; this is its last state."); });
  source.addEventListener("error", () => {
    if (source.readyState !== EventSource.CLOSED) show("reconnecting", "Connection lost; reconnecting…");
  });
})();`;

const LIVE_STYLE =
  `#live-status { position: sticky; top: 0; margin: 0 0 12px; padding: 6px 10px; border-radius: 6px;
  background: #ddf4ff; color: #0a3069; font-size: 13px; z-index: 1; }
#live-status[data-state="failed"], #live-status[data-state="reconnecting"] { background: #ffebe9; color: #82071e; }
#live-status[data-state="ended"], #live-status[data-state="stopped"], #live-status[data-state="idle"] { background: #eaeef2; color: #24292f; }`;

/**
 * The Content-Security-Policy of the live page: only its own inline script
 * (by hash), inline styles, and connections back to the service.
 */
export const LIVE_PAGE_CSP: string = [
  "default-src 'none'",
  `script-src 'sha256-${createHash("sha256").update(LIVE_SCRIPT).digest("base64")}'`,
  "style-src 'unsafe-inline'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

function splitReport(html: string): { head: string; body: string; tail: string } {
  // Names from the input are escaped by the report, so these tags are its own.
  const open = html.indexOf("<body>");
  const close = html.lastIndexOf("</body>");
  if (open === -1 || close < open) {
    throw new TypeError(
      "Cannot render the live page as the report must have a <body> element: current value has none",
    );
  }
  return {
    head: html.slice(0, open),
    body: html.slice(open + "<body>".length, close),
    tail: html.slice(close),
  };
}

/**
 * The inner HTML that replaces the page's report on each update: the body of
 * `renderReport(data)`.
 *
 * @param data What the report shows now.
 * @returns The HTML fragment.
 *
 * @example The fragment holds the plot
 * ```ts
 * import { renderLiveUpdate } from "./live_page.ts";
 * import assert from "node:assert/strict";
 *
 * const html = renderLiveUpdate({
 *   source: "stdin", settings: [], alertLevel: undefined, windowLabel: undefined, features: ["a"], confounds: ["c"],
 *   points: [{ index: 0, firstLine: 2, loss: 0.1, running: 0.1, window: undefined, alert: false }],
 *   finalCorrelations: new Float64Array([0.5]), top: 5, rows: 10, samples: 10,
 *   badRows: { count: 0, rows: [] }, skippedBatches: [],
 * });
 * assert.equal(html.match(/<circle class="batch-point/g)?.length, 1);
 * assert.doesNotMatch(html, /<body|<script/);
 * ```
 */
export function renderLiveUpdate(data: ReportData): string {
  return splitReport(renderReport(data)).body;
}

/**
 * The whole live page: the report as it stands, a status line, and the
 * script that keeps both up to date from the event stream at
 * {@linkcode LIVE_EVENTS_PATH}. Serve it with {@linkcode LIVE_PAGE_CSP}.
 *
 * @param data What the report shows now.
 * @returns The HTML page.
 *
 * @example One inline script, no external ones
 * ```ts
 * import { renderLivePage } from "./live_page.ts";
 * import assert from "node:assert/strict";
 *
 * const html = renderLivePage({
 *   source: "<stdin>", settings: [], alertLevel: 0.2, windowLabel: undefined, features: ["a"], confounds: ["c"],
 *   points: [], finalCorrelations: undefined, top: 5, rows: 0, samples: 0,
 *   badRows: { count: 0, rows: [] }, skippedBatches: [],
 * });
 * assert.equal(html.match(/<script>/g)?.length, 1);
 * assert.doesNotMatch(html, /<script src|<stdin>/);
 * ```
 */
export function renderLivePage(data: ReportData): string {
  const { head, body, tail } = splitReport(renderReport(data));
  const styledHead = head.replace("</head>", `<style>\n${LIVE_STYLE}\n</style>\n</head>`);
  return `${styledHead}<body>
<p id="live-status" data-state="connecting" role="status">Live: connecting…</p>
<div id="live-report">${body}</div>
<script>${LIVE_SCRIPT}</script>
${tail}`;
}
