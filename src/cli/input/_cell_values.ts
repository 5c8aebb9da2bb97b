/**
 * Reading one cell: as a number, or as a date with its derived values.
 *
 * @module
 */

import { parseIsoDate } from "./iso_date.ts";

/** The columns derived from a date column `d`: `d.cos`, `d.sin`, `d.days`. */
export const DATE_SUFFIXES = ["cos", "sin", "days"] as const;
const DAY_MS = 86_400_000;

/**
 * Reads a cell as a number: undefined when empty (or blank), NaN when not a
 * finite decimal number. Text is read by `parseDecimalText`: decimal
 * forms only (no `0x10`, `Infinity`), spaces and tabs around them allowed.
 */
export function cellNumber(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "number") return Number.isFinite(value) ? value : Number.NaN;
  if (typeof value !== "string") return Number.NaN;
  return parseDecimalText(value);
}

/** 1 January of a year, 00:00 UTC (years 0–99 included, which Date.UTC reads as 1900–1999). */
function utcYearStart(year: number): number {
  const date = new Date(0);
  date.setUTCFullYear(year, 0, 1);
  return date.getTime();
}

/** The largest time a Date holds: ±100,000,000 days around 1970. */
const MAX_TIME_MS = 8.64e15;

/**
 * The annual phase and day number of a date (an ISO 8601 date cell, see
 * {@linkcode parseIsoDate}, or a number of milliseconds since 1970 from NDJSON): `cos` and `sin` of the fraction
 * of the year elapsed (so 1 January has cos 1 and mid-July about −1), and
 * days since 1970-01-01 UTC.
 */
export function dateFeatures(value: unknown): [number, number, number] | undefined {
  if (typeof value !== "string" && typeof value !== "number") return undefined;
  const time = typeof value === "number" ? value : parseIsoDate(value);
  if (time === undefined || !Number.isFinite(time) || Math.abs(time) > MAX_TIME_MS) {
    return undefined;
  }
  const year = new Date(time).getUTCFullYear();
  const yearStart = utcYearStart(year);
  const yearLength = utcYearStart(year + 1) - yearStart;
  const angle = (2 * Math.PI * (time - yearStart)) / yearLength;
  return [Math.cos(angle), Math.sin(angle), Math.floor(time / DAY_MS)];
}

/** Decimal forms only, with spaces or tabs around (`Number()` would also take `0x10`, `Infinity`). */
const DECIMAL = /^[ \t]*[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[ \t]*$/;
const BLANK = /^[ \t]*$/;

/** A cell's text as `Number()` reads it, if it is a decimal: undefined when blank, else NaN. */
function parseDecimalText(text: string): number | undefined {
  if (!DECIMAL.test(text)) return BLANK.test(text) ? undefined : Number.NaN;
  const value = Number(text);
  return Number.isFinite(value) ? value : Number.NaN;
}
