/**
 * The help texts, derived from the commands' flag tables: a command's usage,
 * description and flags by section, each flag with its default; and the
 * program's list of commands.
 *
 * @module
 */

import type { Flag, FlagTable } from "./flag.ts";

/** What the help of a command shows. */
export interface CommandHelp {
  /** The usage lines with what each does: the first is the command's own usage line. */
  readonly synopses: readonly (readonly [usage: string, summary: string])[];
  /** What the command does, one paragraph per string (wrapped). */
  readonly description: readonly string[];
  /** The flags. */
  readonly flags: FlagTable;
  /** The exit codes line. */
  readonly exitCodes: string;
}

const WIDTH = 80;
const INDENT = "  ";
const LABEL_WIDTH = 23;
const GAP = "  ";

/** Wraps text into lines of at most `width` characters (a longer word stays whole). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter((part) => part.length > 0)) {
    if (line.length > 0 && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line.length > 0 ? `${line} ${word}` : word;
    }
  }
  if (line.length > 0) lines.push(line);
  return lines;
}

/** How a default value is written in the help. */
function defaultText(flag: Flag, name: string): string | undefined {
  if (flag.kind === "boolean") {
    return flag.negatable ? (flag.default ? `--${name}` : `--no-${name}`) : undefined;
  }
  if (flag.defaultText !== undefined) return flag.defaultText;
  const value: unknown = flag.default;
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(",") : String(value);
}

/** The left column of a flag: `--batch-size, -b n`, `--abs / --no-abs`. */
function flagLabel(flag: Flag, name: string): string {
  const short = flag.short !== undefined ? `, -${flag.short}` : "";
  if (flag.kind === "boolean") {
    return flag.negatable ? `--${name} / --no-${name}` : `--${name}${short}`;
  }
  return `--${name}${short} ${flag.placeholder}`;
}

/** One entry of the flag list: the label, then the text wrapped beside it. */
function entry(label: string, text: string): string[] {
  const column = INDENT.length + LABEL_WIDTH + GAP.length;
  const lines = wrap(text, WIDTH - column);
  const head = `${INDENT}${label.padEnd(LABEL_WIDTH)}${GAP}`;
  if (head.length > column) {
    // A label too long for its column gets the text on the lines below.
    return [`${INDENT}${label}`, ...lines.map((line) => `${" ".repeat(column)}${line}`)];
  }
  return lines.map((line, i) => (i === 0 ? `${head}${line}` : `${" ".repeat(column)}${line}`));
}

/** The lines of one flag (two for a value flag with a negation). */
function flagLines(flag: Flag, name: string): string[] {
  const shown = defaultText(flag, name);
  const lines = entry(
    flagLabel(flag, name),
    shown === undefined ? flag.help : `${flag.help} (default ${shown})`,
  );
  if (flag.kind === "value" && flag.negation !== undefined) {
    lines.push(...entry(`--no-${name}`, flag.negation.help));
  }
  return lines;
}

/** The flag list, grouped by section in table order; flags without a section come first. */
function flagSections(flags: FlagTable): string[] {
  const sections = new Map<string | undefined, string[]>([[undefined, []]]);
  for (const [name, flag] of Object.entries(flags)) {
    const lines = sections.get(flag.section) ?? [];
    if (flag.section !== undefined && !sections.has(flag.section)) lines.push(flag.section);
    lines.push(...flagLines(flag, name));
    sections.set(flag.section, lines);
  }
  return [...sections.values()].filter((lines) => lines.length > 0).map((lines) =>
    lines.join("\n")
  );
}

/**
 * The help of a command: its usage line, its description, its flags by
 * section with their defaults, and its exit codes.
 *
 * @param command What the help shows.
 * @returns The text, ending with a newline.
 *
 * @example
 * ```ts
 * import { booleanFlag, valueFlag } from "./flag.ts";
 * import { positiveInteger } from "./flag_schemas.ts";
 * import { commandHelp } from "./help_text.ts";
 * import assert from "node:assert/strict";
 *
 * const text = commandHelp({
 *   synopses: [["batch-corr demo [options]", "a demo"]],
 *   description: ["Does a demo."],
 *   flags: {
 *     rows: valueFlag(positiveInteger(), { short: "n", placeholder: "n", default: 3, help: "rows" }),
 *     abs: booleanFlag({ negatable: true, default: true, help: "threshold |r|" }),
 *   },
 *   exitCodes: "Exit codes: 0 done.",
 * });
 * assert.equal(text, [
 *   "batch-corr demo [options]",
 *   "",
 *   "Does a demo.",
 *   "",
 *   "  --rows, -n n             rows (default 3)",
 *   "  --abs / --no-abs         threshold |r| (default --abs)",
 *   "",
 *   "Exit codes: 0 done.",
 *   "",
 * ].join("\n"));
 * ```
 */
export function commandHelp(command: CommandHelp): string {
  const [usage] = command.synopses[0]!;
  const paragraphs = command.description.map((paragraph) => wrap(paragraph, WIDTH).join("\n"));
  const exitCodes = wrap(command.exitCodes, WIDTH).join("\n");
  return [usage, ...paragraphs, ...flagSections(command.flags), exitCodes].join("\n\n") + "\n";
}

/**
 * The help of the program: what it is, every command's usage lines, and the
 * exit codes.
 *
 * @param title The first line.
 * @param commands The commands, in order.
 * @param exitCodes The exit codes line.
 * @returns The text, ending with a newline.
 *
 * @example
 * ```ts
 * import { programHelp } from "./help_text.ts";
 * import assert from "node:assert/strict";
 *
 * const text = programHelp("tool: does things", [
 *   { synopses: [["tool run", "runs"]], description: [], flags: {}, exitCodes: "" },
 * ], "Exit codes: 0.");
 * assert.equal(text, [
 *   "tool: does things",
 *   "",
 *   "Usage:",
 *   "  tool run                runs",
 *   "  tool <command> --help   help for a command",
 *   "",
 *   "Exit codes: 0.",
 *   "",
 * ].join("\n"));
 * ```
 */
export function programHelp(
  title: string,
  commands: readonly CommandHelp[],
  exitCodes: string,
): string {
  const program = title.split(":")[0]!;
  const synopses = [
    ...commands.flatMap((command) => command.synopses),
    [`${program} <command> --help`, "help for a command"] as const,
  ];
  const width = Math.max(...synopses.map(([usage]) => usage.length)) + 3;
  const lines = synopses.map(([usage, summary]) => `${INDENT}${usage.padEnd(width)}${summary}`);
  return `${title}\n\nUsage:\n${lines.join("\n")}\n\n${exitCodes}\n`;
}
