/**
 * The live progress line written to a terminal's standard error.
 *
 * @module
 */

import type { TextSink } from "./output_sink.ts";

/** What the progress line shows. */
export interface ProgressState {
  /** Bytes consumed from the input so far. */
  bytesRead: number;
  /** The input's size, when known (a file, not a pipe). */
  totalBytes: number | undefined;
  /** Batches processed. */
  batches: number;
  /** Rows processed (bad rows included). */
  rows: number;
  /** Milliseconds since the start. */
  elapsedMs: number;
}

/** Formats a byte count with a binary unit. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** Formats an integer with thousands separators, independent of the locale. */
export function formatCount(value: number): string {
  return Math.round(value).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/**
 * Renders one progress line: a bar and percentage when the total is known,
 * bytes read, batches, rows and throughput.
 *
 * @param state What to show.
 * @param width The bar's width in characters.
 * @returns The line, without a newline.
 *
 * @example Half of a file
 * ```ts
 * import { renderProgress } from "./progress_line.ts";
 * import assert from "node:assert/strict";
 *
 * const line = renderProgress({ bytesRead: 512, totalBytes: 1024, batches: 3, rows: 300, elapsedMs: 1000 }, 10);
 * assert.equal(line, "[#####-----]  50.0%  512 B / 1.0 KiB  batches 3  rows 300  300 rows/s");
 * ```
 */
export function renderProgress(state: ProgressState, width = 24): string {
  const rate = state.elapsedMs > 0 ? (state.rows * 1000) / state.elapsedMs : 0;
  const tail = `batches ${formatCount(state.batches)}  rows ${formatCount(state.rows)}  ${
    formatCount(rate)
  } rows/s`;
  if (state.totalBytes === undefined || state.totalBytes <= 0) {
    return `${formatBytes(state.bytesRead)} read  ${tail}`;
  }
  const fraction = Math.min(1, state.bytesRead / state.totalBytes);
  const filled = Math.round(fraction * width);
  const bar = `[${"#".repeat(filled)}${"-".repeat(width - filled)}]`;
  const percent = `${(fraction * 100).toFixed(1)}%`.padStart(6);
  return `${bar} ${percent}  ${formatBytes(state.bytesRead)} / ${
    formatBytes(state.totalBytes)
  }  ${tail}`;
}

/**
 * A throttled progress line on a terminal: redrawn in place at most every
 * `intervalMs`, and cleared before other output is printed so lines never mix.
 */
export class ProgressLine {
  #sink: TextSink;
  #enabled: boolean;
  #intervalMs: number;
  #lastDraw = -Infinity;
  #shown = false;

  /**
   * Creates the line.
   *
   * @param sink Where to draw (standard error).
   * @param enabled Whether to draw at all (false when not a terminal).
   * @param intervalMs The minimum time between redraws.
   */
  constructor(sink: TextSink, enabled: boolean, intervalMs = 100) {
    this.#sink = sink;
    this.#enabled = enabled;
    this.#intervalMs = intervalMs;
  }

  /** Redraws the line if enough time has passed (or `force`). */
  update(state: ProgressState, force = false): void {
    if (!this.#enabled) return;
    const now = performance.now();
    if (!force && now - this.#lastDraw < this.#intervalMs) return;
    this.#lastDraw = now;
    this.#sink.write(`\r\x1b[2K${renderProgress(state)}`);
    this.#shown = true;
  }

  /** Erases the line so that other output starts on a clean line. */
  clear(): void {
    if (!this.#enabled || !this.#shown) return;
    this.#sink.write("\r\x1b[2K");
    this.#shown = false;
  }

  /** Draws the final state and ends the line. */
  finish(state: ProgressState): void {
    if (!this.#enabled) return;
    this.update(state, true);
    this.#sink.write("\n");
    this.#shown = false;
  }
}
