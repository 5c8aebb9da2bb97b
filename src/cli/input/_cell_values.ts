/**
 * Reading one cell: as a number, or as a date with its derived values.
 *
 * @module
 */

/** The columns derived from a date column `d`: `d.cos`, `d.sin`, `d.days`. */
export const DATE_SUFFIXES = ["cos", "sin", "days"] as const;
const DAY_MS = 86_400_000;

/** Reads a cell as a number: undefined when empty, NaN when not a finite number. */
export function cellNumber(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "number") return Number.isFinite(value) ? value : Number.NaN;
  if (typeof value !== "string") return Number.NaN;
  const text = value.trim();
  if (text.length === 0) return undefined;
  const number = Number(text);
  return Number.isFinite(number) ? number : Number.NaN;
}

/**
 * The annual phase and day number of a date: `cos` and `sin` of the fraction
 * of the year elapsed (so 1 January has cos 1 and mid-July about −1), and
 * days since 1970-01-01 UTC.
 */
export function dateFeatures(value: unknown): [number, number, number] | undefined {
  if (typeof value !== "string" && typeof value !== "number") return undefined;
  const time = typeof value === "number" ? value : Date.parse(value.trim());
  if (!Number.isFinite(time)) return undefined;
  const date = new Date(time);
  const yearStart = Date.UTC(date.getUTCFullYear(), 0, 1);
  const yearLength = Date.UTC(date.getUTCFullYear() + 1, 0, 1) - yearStart;
  const angle = (2 * Math.PI * (time - yearStart)) / yearLength;
  return [Math.cos(angle), Math.sin(angle), Math.floor(time / DAY_MS)];
}
