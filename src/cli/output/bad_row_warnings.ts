/**
 * The warning `monitor` writes on stderr for each skipped row (the first
 * ten), so that none is dropped silently.
 *
 * @module
 */

import type { BadRowLog } from "../input/bad_row_log.ts";
import type { TextSink } from "./output_sink.ts";
import type { ProgressLine } from "./progress_line.ts";
import { safeText } from "./safe_text.ts";

const WARNED = 10;

/** Names on stderr each bad row logged since the last flush, up to the first ten of the run. */
export class BadRowWarnings {
  #log: BadRowLog;
  #stderr: TextSink;
  #progress: ProgressLine;
  #reported = 0;

  /**
   * Watches a log.
   *
   * @param log The run's bad rows.
   * @param stderr Where to warn.
   * @param progress The progress line, cleared before a warning.
   */
  constructor(log: BadRowLog, stderr: TextSink, progress: ProgressLine) {
    this.#log = log;
    this.#stderr = stderr;
    this.#progress = progress;
  }

  /** Warns about the bad rows logged since the last call. */
  flush(): void {
    while (this.#reported < this.#log.count) {
      const row = this.#log.rows[this.#reported];
      if (this.#reported < WARNED && row) {
        this.#progress.clear();
        this.#stderr.write(`batch-corr: skipped line ${row.line}: ${safeText(row.reason, 1000)}\n`);
      }
      this.#reported++;
    }
  }
}
