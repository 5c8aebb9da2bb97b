/**
 * Dates in input cells, read strictly as ISO 8601 calendar dates with an
 * optional time, in UTC unless the cell names its offset.
 *
 * @module
 */

const ISO_DATE =
  /^[ \t]*(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?([Zz]|[+-]\d{2}(?::?\d{2})?)?)?[ \t]*$/;

const MINUTE_MS = 60_000;

/** Days in a month of the proleptic Gregorian calendar (month 1–12). */
function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** The offset `Z`, `±hh`, `±hhmm` or `±hh:mm` in minutes east of UTC, or undefined if out of range. */
function offsetMinutes(zone: string | undefined): number | undefined {
  if (zone === undefined || zone === "Z" || zone === "z") return 0;
  const sign = zone[0] === "-" ? -1 : 1;
  const digits = zone.slice(1).replace(":", "");
  const hours = Number(digits.slice(0, 2));
  const minutes = digits.length > 2 ? Number(digits.slice(2)) : 0;
  if (hours > 23 || minutes > 59) return undefined;
  return sign * (hours * 60 + minutes);
}

/**
 * Reads a date cell: `YYYY-MM-DD`, optionally followed by `T` (or a space)
 * and `hh:mm`, `hh:mm:ss` or `hh:mm:ss.fff` (1–9 fraction digits, cut to
 * milliseconds), optionally followed by `Z` or an offset `±hh:mm` (`±hhmm`,
 * `±hh`), with spaces or tabs around it. Every field is checked: a day the
 * month does not have (`2012-02-30`), hour 24, minute or second 60, or an
 * offset beyond 23:59 is refused, never rolled over. A date or date-time
 * without an offset is UTC, so the result never depends on the machine's time
 * zone (unlike `Date.parse`, which reads a date-time without an offset in
 * local time). Other formats (`2012/01/05`, `Jan 5 2012`, `05.01.2012`) are
 * refused rather than guessed.
 *
 * @param text The cell.
 * @returns Milliseconds since 1970-01-01T00:00:00Z, or undefined when the cell is not such a date.
 *
 * @example Strict and in UTC
 * ```ts
 * import { parseIsoDate } from "./iso_date.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(parseIsoDate("2012-01-05"), Date.UTC(2012, 0, 5));
 * assert.equal(parseIsoDate("2012-01-05 06:30"), Date.UTC(2012, 0, 5, 6, 30));
 * assert.equal(parseIsoDate("2012-01-05T06:30:00+02:00"), Date.UTC(2012, 0, 5, 4, 30));
 * assert.equal(parseIsoDate("2012-02-30"), undefined);
 * assert.equal(parseIsoDate("Jan 5 2012"), undefined);
 * ```
 */
export function parseIsoDate(text: string): number | undefined {
  const match = ISO_DATE.exec(text);
  if (match === null) return undefined;
  const [, y, mo, d, h, mi, s, fraction, zone] = match;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = h === undefined ? 0 : Number(h);
  const minute = mi === undefined ? 0 : Number(mi);
  const second = s === undefined ? 0 : Number(s);
  const ms = fraction === undefined ? 0 : Number(fraction.slice(0, 3).padEnd(3, "0"));
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const offset = offsetMinutes(zone);
  if (offset === undefined) return undefined;
  // setUTCFullYear, unlike Date.UTC, does not read years 0–99 as 1900–1999.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, ms);
  return date.getTime() - offset * MINUTE_MS;
}
