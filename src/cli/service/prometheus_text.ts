/**
 * The Prometheus text exposition format (version 0.0.4), written against its
 * specification: `# HELP` and `# TYPE` lines, then one line per sample,
 * `name{label="value",…} value`, with escaped help text and label values.
 *
 * @module
 */

/** The metric types this writer emits. */
export type MetricType = "counter" | "gauge" | "untyped";

/** One sample of a family: its labels and value. */
export interface MetricSample {
  /** Label names and values (names as the format allows, values any text). */
  labels?: Readonly<Record<string, string>>;
  /** The value (NaN and ±Infinity are written as `NaN`, `+Inf`, `-Inf`). */
  value: number;
}

/** A metric family: a name, a help text, a type and its samples. */
export interface MetricFamily {
  /** The metric name, `[a-zA-Z_:][a-zA-Z0-9_:]*`. */
  name: string;
  /** One line of documentation (backslashes and line breaks are escaped). */
  help: string;
  /** The type. */
  type: MetricType;
  /** The samples; none leaves only the `# HELP` and `# TYPE` lines. */
  samples: readonly MetricSample[];
}

/** The `Content-Type` of the text format. */
export const PROMETHEUS_TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const CONTEXT = "write the Prometheus text format";

/**
 * Escapes a label value: `\` → `\\`, `"` → `\"`, line feed → `\n`, as the
 * format requires; every other character is written as it is (UTF-8).
 *
 * @param value Any text.
 * @returns The text to put between the quotes.
 *
 * @example A value with a quote and a line break
 * ```ts
 * import { escapeLabelValue } from "./prometheus_text.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(escapeLabelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
 * ```
 */
export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`));
}

/**
 * Escapes a help text: `\` → `\\` and line feed → `\n` (quotes stay).
 *
 * @param text Any text.
 * @returns The text for the `# HELP` line.
 */
export function escapeHelp(text: string): string {
  return text.replace(/[\\\n]/g, (c) => (c === "\n" ? "\\n" : "\\\\"));
}

/**
 * Formats a sample value so that Prometheus parses back the same float64:
 * the shortest round-trip decimal, and `NaN`, `+Inf`, `-Inf`.
 *
 * @param value The value.
 * @returns Its text.
 *
 * @example Special values
 * ```ts
 * import { formatSampleValue } from "./prometheus_text.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual([0.1, Infinity, -Infinity, NaN, 1e-7].map(formatSampleValue), ["0.1", "+Inf", "-Inf", "NaN", "1e-7"]);
 * ```
 */
export function formatSampleValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

function checkFamily(family: MetricFamily, seen: Set<string>): void {
  if (typeof family.name !== "string" || !METRIC_NAME.test(family.name)) {
    throw new RangeError(
      `Cannot ${CONTEXT} as a metric name must match [a-zA-Z_:][a-zA-Z0-9_:]*: current value is ${
        JSON.stringify(family.name)
      }`,
    );
  }
  if (seen.has(family.name)) {
    throw new RangeError(
      `Cannot ${CONTEXT} as each metric family must appear once: current value ${
        JSON.stringify(family.name)
      } appears twice`,
    );
  }
  seen.add(family.name);
  if (family.type !== "counter" && family.type !== "gauge" && family.type !== "untyped") {
    throw new RangeError(
      `Cannot ${CONTEXT} as the type of ${family.name} must be "counter", "gauge" or "untyped": current value is ${
        JSON.stringify(family.type)
      }`,
    );
  }
}

function labelText(family: string, labels: Readonly<Record<string, string>> | undefined): string {
  if (labels === undefined) return "";
  const parts: string[] = [];
  for (const name of Object.keys(labels)) {
    const value = labels[name];
    if (!LABEL_NAME.test(name) || name.startsWith("__")) {
      throw new RangeError(
        `Cannot ${CONTEXT} as a label name of ${family} must match [a-zA-Z_][a-zA-Z0-9_]* and not start with "__": current value is ${
          JSON.stringify(name)
        }`,
      );
    }
    if (typeof value !== "string") {
      throw new TypeError(
        `Cannot ${CONTEXT} as label ${name} of ${family} must be a string: current value is ${typeof value}`,
      );
    }
    parts.push(`${name}="${escapeLabelValue(value)}"`);
  }
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}

/**
 * Writes metric families in the Prometheus text format, each family's
 * samples together under its `# HELP` and `# TYPE` lines, every line ending
 * with a line feed. Checks what the format requires of names and that no
 * family or label set repeats (Prometheus refuses a whole scrape for that).
 *
 * @param families The families, in the order to write them.
 * @returns The exposition text.
 * @throws {RangeError} For a bad metric or label name, an unknown type, a
 * family given twice, or a label set given twice within a family.
 * @throws {TypeError} For a label value that is not a string.
 *
 * @example A gauge with an escaped label
 * ```ts
 * import { encodePrometheusText } from "./prometheus_text.ts";
 * import assert from "node:assert/strict";
 *
 * const text = encodePrometheusText([
 *   { name: "demo_loss", help: "A loss.", type: "gauge", samples: [{ labels: { confound: 'age "y"' }, value: 0.25 }] },
 * ]);
 * assert.equal(text, '# HELP demo_loss A loss.\n# TYPE demo_loss gauge\ndemo_loss{confound="age \\"y\\""} 0.25\n');
 * ```
 */
export function encodePrometheusText(families: readonly MetricFamily[]): string {
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const family of families) {
    checkFamily(family, seen);
    lines.push(
      `# HELP ${family.name} ${escapeHelp(family.help)}`,
      `# TYPE ${family.name} ${family.type}`,
    );
    const labelSets = new Set<string>();
    for (const sample of family.samples) {
      const labels = labelText(family.name, sample.labels);
      // Label order does not make a new series: compare the sets sorted.
      const identity = JSON.stringify(
        Object.entries(sample.labels ?? {}).sort(([a], [b]) => (a < b ? -1 : 1)),
      );
      if (labelSets.has(identity)) {
        throw new RangeError(
          `Cannot ${CONTEXT} as each label set of ${family.name} must appear once: current value ${
            labels || "(no labels)"
          } appears twice`,
        );
      }
      labelSets.add(identity);
      lines.push(`${family.name}${labels} ${formatSampleValue(sample.value)}`);
    }
  }
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}
