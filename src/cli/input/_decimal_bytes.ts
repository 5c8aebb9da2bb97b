/**
 * Reads a decimal number straight from ASCII bytes, giving exactly what
 * `Number()` gives for the same text (the correctly rounded double), without
 * building a string. Most cells take one of two fast paths; the few that
 * neither can decide are handed to `Number()` itself.
 *
 * - **Clinger's path**: a significand of at most 15 digits is exact in a
 *   double, and so is 10^k for k ≤ 22, so one multiplication or division,
 *   correctly rounded by IEEE 754, is the correctly rounded value.
 * - **Double-double path**: up to 18 significant digits and exponents within
 *   ±60. The significand W (exact as a double-double) times 10^E (a
 *   double-double within 2^-106) gives v' = s + r with |v − v'| < 2^-100·|v|.
 *   `fl(s + x)` is monotone in x, so when `fl(s + r·(1 − δ))` and
 *   `fl(s + r·(1 + δ))` agree (δ = 2^-32), every value between them, v
 *   included, rounds to the same double. When |r| is so small that the
 *   interval is not covered, v is far from any rounding boundary and rounds
 *   to s, which both probes also give. Near a tie or a boundary the probes
 *   differ and the text goes to `Number()`.
 *
 * @module
 */

/** 10^k for k = 0…22, each exact in a double. */
const EXACT_POWERS = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));
const MAX_EXPONENT = 60;
const SPLIT = 134217729; // 2^27 + 1, Dekker's splitter
const BELOW = 1 - 2 ** -32;
const ABOVE = 1 + 2 ** -32;

/** The high and low halves of 10^E, E = -60…60 (index E + 60). */
const POWER_HI = new Float64Array(2 * MAX_EXPONENT + 1);
const POWER_LO = new Float64Array(2 * MAX_EXPONENT + 1);
/** The high half, split in two 26-bit halves for Dekker's product. */
const POWER_HI_SPLIT_HI = new Float64Array(2 * MAX_EXPONENT + 1);
const POWER_HI_SPLIT_LO = new Float64Array(2 * MAX_EXPONENT + 1);
fillPowers();

function fillPowers(): void {
  const bits = new BigUint64Array(1);
  const float = new Float64Array(bits.buffer);
  for (let e = -MAX_EXPONENT; e <= MAX_EXPONENT; e++) {
    const hi = Number(`1e${e}`);
    float[0] = hi;
    const word = bits[0]!;
    const significand = (word & ((1n << 52n) - 1n)) | (1n << 52n);
    const shift = Number((word >> 52n) & 0x7ffn) - 1075; // hi = significand · 2^shift
    let lo: number;
    if (e >= 0) {
      const exact = 10n ** BigInt(e);
      const rounded = shift >= 0 ? significand << BigInt(shift) : significand >> BigInt(-shift);
      lo = Number(exact - rounded);
    } else {
      // 10^e − m·2^-s = (2^s − m·10^k) / (10^k · 2^s), with k = −e and s = −shift.
      const k = -e;
      const s = -shift;
      const numerator = (1n << BigInt(s)) - significand * 10n ** BigInt(k);
      lo = Number(numerator) / Number(10n ** BigInt(k)) / 2 ** s;
    }
    POWER_HI[e + MAX_EXPONENT] = hi;
    POWER_LO[e + MAX_EXPONENT] = lo;
    const split = SPLIT * hi;
    POWER_HI_SPLIT_HI[e + MAX_EXPONENT] = split - (split - hi);
    POWER_HI_SPLIT_LO[e + MAX_EXPONENT] = hi - (split - (split - hi));
  }
}

const SPACE = 32;
const TAB = 9;
const PLUS = 43;
const MINUS = 45;
const DOT = 46;
const ZERO = 48;
const LOWER_E = 101;
const UPPER_E = 69;

/** Where the last {@linkcode scanDecimal} stopped: one past the last byte it took. */
export const decimalScan: { end: number } = { end: 0 };

/**
 * The number a cell's bytes hold, as `Number()` reads their text: a decimal
 * (`[+-]digits[.digits][e[+-]digits]`, `.5` and `5.` included) with spaces or
 * tabs around. Blank → undefined; anything else, or a value out of the
 * double's range, → NaN.
 *
 * @param bytes ASCII bytes.
 * @param start The first byte of the cell.
 * @param end One past the cell's last byte.
 * @returns The value, undefined for a blank cell, NaN when it is not a finite decimal.
 */
export function decimalFromBytes(
  bytes: Uint8Array,
  start: number,
  end: number,
): number | undefined {
  const value = scanDecimal(bytes, start, end);
  return decimalScan.end === end ? value : Number.NaN;
}

/**
 * Reads spaces or tabs, a decimal and spaces or tabs from `start`, as far as
 * they go (at most to `limit`), and records where it stopped in
 * {@linkcode decimalScan}. The cell is that decimal only if the byte there
 * ends the cell; otherwise the cell is not a number, whatever is returned.
 *
 * @param bytes ASCII bytes.
 * @param start The first byte of the cell.
 * @param limit One past the last byte that may be read.
 * @returns The value (as {@linkcode decimalFromBytes} gives it) if the cell ends where the scan stopped.
 */
export function scanDecimal(
  bytes: Uint8Array,
  start: number,
  limit: number,
): number | undefined {
  let i = start;
  while (i < limit && (bytes[i] === SPACE || bytes[i] === TAB)) i++;
  const textStart = i;
  let negative = false;
  if (i < limit && (bytes[i] === PLUS || bytes[i] === MINUS)) {
    negative = bytes[i] === MINUS;
    i++;
  }
  // Small integers (V8 keeps them unboxed): the first 9 significant digits, then the next 9.
  let hi = 0;
  let lo = 0;
  let significant = 0;
  let exponent = 0;
  const digitsStart = i;
  let point = -1; // where the fraction starts, once a point is read
  for (; i < limit; i++) {
    const d = bytes[i]! - ZERO;
    if (d < 0 || d > 9) {
      if (d === DOT - ZERO && point < 0) {
        point = i + 1;
        continue;
      }
      break;
    }
    if (significant < 9) {
      hi = hi * 10 + d;
      if (hi !== 0) significant++;
    } else {
      if (significant < 18) lo = lo * 10 + d;
      else exponent++;
      significant++;
    }
  }
  const digits = i - digitsStart - (point < 0 ? 0 : 1);
  if (point >= 0) exponent -= i - point;
  decimalScan.end = i;
  if (digits === 0) return i === textStart ? undefined : Number.NaN;
  if (i < limit && (bytes[i] === LOWER_E || bytes[i] === UPPER_E)) {
    i++;
    let exponentNegative = false;
    if (i < limit && (bytes[i] === PLUS || bytes[i] === MINUS)) {
      exponentNegative = bytes[i] === MINUS;
      i++;
    }
    const exponentStart = i;
    let written = 0;
    for (; i < limit; i++) {
      const d = bytes[i]! - ZERO;
      if (d < 0 || d > 9) break;
      // Saturates far beyond any double's range; such a text takes the Number() path below.
      if (written < 1e9) written = written * 10 + d;
    }
    decimalScan.end = i;
    if (i === exponentStart) return Number.NaN;
    exponent += exponentNegative ? -written : written;
  }
  const textEnd = i;
  while (i < limit && (bytes[i] === SPACE || bytes[i] === TAB)) i++;
  decimalScan.end = i;
  if (significant === 0) return negative ? -0 : 0;
  const loDigits = significant > 9 ? significant - 9 : 0;
  const value = (significant <= 18 ? roundedDecimal(hi, lo, loDigits, exponent) : undefined) ??
    viaNumber(bytes, textStart, textEnd);
  return negative ? -value : value;
}

/**
 * hi·10^loDigits + lo (hi: 9 digits, lo: loDigits ≤ 9), times 10^exponent, correctly rounded; undefined when
 * neither fast path can decide it.
 */
function roundedDecimal(
  hi: number,
  lo: number,
  loDigits: number,
  exponent: number,
): number | undefined {
  if (loDigits <= 6 && exponent >= -22 && exponent <= 22) {
    // At most 15 digits: W is exact, and so is each step of computing it.
    const w = hi * EXACT_POWERS[loDigits]! + lo;
    return exponent < 0 ? w / EXACT_POWERS[-exponent]! : w * EXACT_POWERS[exponent]!;
  }
  if (exponent < -MAX_EXPONENT || exponent > MAX_EXPONENT) return undefined;
  // The significand W = hi·10^loDigits + lo as an exact double-double (wh, wl). hi < 10^9 < 2^30
  // and 10^k = 5^k·2^k with 5^k < 2^21 (k ≤ 9), so hi·10^k has at most 51 bits: exact.
  let wh = hi;
  let wl = 0;
  if (loDigits > 0) {
    const product = hi * EXACT_POWERS[loDigits]!;
    wh = product + lo;
    const virtual = wh - product;
    wl = (product - (wh - virtual)) + (lo - virtual);
  }
  const at = exponent + MAX_EXPONENT;
  const th = POWER_HI[at]!;
  const p = wh * th;
  // Dekker's exact error of wh·th, with th's halves split once in the table.
  const split = SPLIT * wh;
  const aHi = split - (split - wh);
  const aLo = wh - aHi;
  const bHi = POWER_HI_SPLIT_HI[at]!;
  const bLo = POWER_HI_SPLIT_LO[at]!;
  const productError = ((aHi * bHi - p) + aHi * bLo + aLo * bHi) + aLo * bLo;
  const pe = productError + (wh * POWER_LO[at]! + wl * th);
  const s = p + pe;
  const r = pe - (s - p);
  const below = s + r * BELOW;
  return below === s + r * ABOVE ? below : undefined;
}

/** The magnitude of the cell's text through Number(); NaN when not finite. */
function viaNumber(bytes: Uint8Array, start: number, end: number): number {
  let text = "";
  for (let i = start; i < end; i++) text += String.fromCharCode(bytes[i]!);
  const value = Math.abs(Number(text));
  return Number.isFinite(value) ? value : Number.NaN;
}
