/**
 * `log`, `log1p` and `exp` from float64 additions, multiplications and
 * divisions only, so that they give the same bits in every engine: V8's and
 * JavaScriptCore's `Math.log` and `Math.exp` differ in the last bit for some
 * arguments, which would make `autoTol` differ between Deno and Bun. Each is
 * within about 1 ulp of the exact value (the tests compare them with `Math`).
 *
 * The methods are the textbook ones: `log` splits off the binary exponent and
 * sums the series of `2·atanh(s)`, `s = f / (2 + f)`; `exp` reduces by a
 * multiple of ln 2 (held in two parts, the first short enough that the
 * reduction is exact) and sums the Taylor series of what is left.
 *
 * @module
 */

const BITS = new DataView(new ArrayBuffer(8));
/** ln 2 in two parts: the first with its low 32 bits zero, so `k · LN2_HI` is exact for |k| < 2^20. */
const LN2_HI = 6.93147180369123816490e-1;
const LN2_LO = 1.90821492927058770002e-10;
const SQRT2 = Math.SQRT2;
const TWO_54 = 2 ** 54;

/** `2^k` for an integer k in [−1022, 1023], built from its bits. */
function powerOfTwo(k: number): number {
  BITS.setUint32(0, (k + 1023) << 20);
  BITS.setUint32(4, 0);
  return BITS.getFloat64(0);
}

/**
 * `ln(1 + f) = 2·atanh(s)` with `s = f / (2 + f)`, for |s| ≤ 0.172 (f in
 * [−0.29, 0.41]), written `f − s·(f − R)`: f itself is exact, and the rounding
 * of the correction, at most 0.17 of the result, stays below half an ulp.
 */
function logOnePlus(f: number): number {
  const s = f / (2 + f);
  const z = s * s;
  // R = 2z·Σ z^k / (2k + 3), to z^11 (z ≤ 0.0295, so z^12 < 5e-19).
  let sum = 1 / 25;
  for (let k = 23; k >= 3; k -= 2) sum = 1 / k + z * sum;
  return f - s * (f - 2 * z * sum);
}

/**
 * The natural logarithm.
 *
 * @param x A number.
 * @returns `ln x`: NaN below 0, −Infinity at 0, Infinity at Infinity.
 */
export function log(x: number): number {
  if (!(x > 0) || x === Infinity) return x === 0 ? -Infinity : x === Infinity ? x : NaN;
  let k = 0;
  let m = x;
  if (m < 2 ** -1022) {
    m *= TWO_54;
    k = -54;
  }
  BITS.setFloat64(0, m);
  const high = BITS.getUint32(0);
  k += ((high >>> 20) & 0x7ff) - 1023;
  BITS.setUint32(0, (high & 0x000fffff) | 0x3ff00000);
  m = BITS.getFloat64(0); // in [1, 2)
  if (m > SQRT2) {
    m /= 2;
    k += 1;
  }
  // m − 1 is exact (Sterbenz), and |s| ≤ (√2 − 1) / (√2 + 1) < 0.18.
  return k * LN2_HI + (k * LN2_LO + logOnePlus(m - 1));
}

/**
 * `ln(1 + x)`, accurate where x is small.
 *
 * @param x A number.
 * @returns `ln(1 + x)`: NaN below −1, −Infinity at −1.
 */
export function log1p(x: number): number {
  if (!(x > -1)) return x === -1 ? -Infinity : NaN;
  if (x === Infinity) return x;
  if (x >= -0.29 && x <= 0.41) return logOnePlus(x);
  // u − 1 is exact for u in [1/2, 2]; (x − (u − 1)) / u puts back what rounding 1 + x lost.
  const u = 1 + x;
  return log(u) + (x - (u - 1)) / u;
}

/**
 * The exponential.
 *
 * @param x A number.
 * @returns `e^x`: 0 below about −745.1, Infinity above about 709.8.
 */
export function exp(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x > 709.782712893384) return Infinity;
  if (x < -745.1332191019412) return 0;
  const k = Math.round(x / Math.LN2);
  const r = (x - k * LN2_HI) - k * LN2_LO;
  let sum = 1;
  for (let n = 16; n >= 1; n--) sum = 1 + r * sum / n;
  if (k >= -1022) return k > 1023 ? sum * 2 * powerOfTwo(k - 1) : sum * powerOfTwo(k);
  // A subnormal result: one rounding, in the last multiplication.
  return sum * powerOfTwo(k + 1000) * powerOfTwo(-1000);
}
