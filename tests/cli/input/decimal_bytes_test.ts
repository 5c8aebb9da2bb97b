import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { decimalFromBytes } from "../../../src/cli/input/_decimal_bytes.ts";

const encoder = new TextEncoder();
const DECIMAL = /^[ \t]*[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[ \t]*$/;

/** The reference: the cell's text through the regular expression and Number(). */
function viaNumber(text: string): number | undefined {
  if (!DECIMAL.test(text)) return /^[ \t]*$/.test(text) ? undefined : Number.NaN;
  const value = Number(text);
  return Number.isFinite(value) ? value : Number.NaN;
}

/** The texts whose bytes do not give Number()'s value (Object.is), at most 5. */
function mismatches(texts: Iterable<string>): string[] {
  const out: string[] = [];
  for (const text of texts) {
    // Padded on both sides so that start and end offsets are exercised too.
    const bytes = encoder.encode(`,${text};`);
    const got = decimalFromBytes(bytes, 1, bytes.length - 1);
    if (!Object.is(got, viaNumber(text)) && out.length < 5) {
      out.push(`${JSON.stringify(text)}: ${got} vs ${viaNumber(text)}`);
    }
  }
  return out;
}

function lcg(seed: number): () => number {
  return () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
}

/** The exact decimal text of num·2^pow2. */
function exactDecimal(num: bigint, pow2: number): string {
  if (pow2 >= 0) return (num << BigInt(pow2)).toString();
  const digits = (num * 5n ** BigInt(-pow2)).toString().padStart(1 - pow2, "0");
  return `${digits.slice(0, digits.length + pow2)}.${digits.slice(digits.length + pow2)}`;
}

describe("decimalFromBytes()", () => {
  test("reads the forms Number() reads and refuses the others, as the text path does", () => {
    const texts = [
      "",
      " ",
      "\t",
      "0",
      "-0",
      "+0",
      "-0.0e5",
      "1.",
      ".5",
      "-.5",
      ".",
      "-",
      "+",
      "1e",
      "1e+",
      "1e-5",
      " 1 ",
      "\t-2.5\t",
      "1 2",
      "0x10",
      "Infinity",
      "NaN",
      "1e400",
      "-1e400",
      "1e-400",
      "1_0",
      "1e5.5",
      "--1",
      "+-1",
      "1.5E+10",
      ".e1",
      "5.e1",
      "0e99999999999999",
      "1,5",
      "١",
    ];
    assert.deepEqual(mismatches(texts), []);
    const bytes = encoder.encode("-0");
    assert.ok(Object.is(decimalFromBytes(bytes, 0, 2), -0), "-0 keeps its sign");
    assert.equal(decimalFromBytes(encoder.encode("  "), 0, 2), undefined);
  });

  test("gives the correctly rounded double at the hard cases of decimal conversion", () => {
    const texts = [
      "9007199254740993",
      "9007199254740992",
      "9007199254740995",
      "1e23",
      "8.5e-1",
      "2.2250738585072011e-308",
      "2.2250738585072014e-308",
      "4.9e-324",
      "5e-324",
      "2e-324",
      "1.7976931348623157e308",
      "1.7976931348623159e308",
      "0.1",
      "0.30000000000000004",
      "123456789012345678901234567890",
      "1.0000000000000000000",
      "00000000000000000000001.5",
      "0.000000000000000000000000000001234",
      "7.2057594037927933e16",
      "1448997445238699",
      "1e0000000000000000000000001",
      "9.999999999999999e22",
      "1.00000000000000011102230246251565",
    ];
    assert.deepEqual(mismatches(texts), []);
  });

  test("agrees with Number() on shortest, fixed and exponent forms of random doubles", () => {
    const random = lcg(11);
    const bits = new Uint32Array(2);
    const float = new Float64Array(bits.buffer);
    const texts: string[] = [];
    for (let k = 0; k < 20000; k++) {
      bits[0] = random() * 2 ** 32;
      bits[1] = random() * 2 ** 32;
      const x = float[0]!;
      if (Number.isFinite(x)) texts.push(String(x), x.toExponential(Math.floor(random() * 21)));
      const y = (random() - 0.5) * 10 ** Math.floor(random() * 40 - 20);
      texts.push(String(y), y.toPrecision(1 + Math.floor(random() * 21)), y.toFixed(18));
    }
    assert.deepEqual(mismatches(texts), []);
  });

  test("agrees with Number() on random digit strings of 1 to 25 digits", () => {
    const random = lcg(5);
    const digits = (n: number) =>
      Array.from({ length: n }, () => String(Math.floor(random() * 10))).join("");
    const texts = Array.from({ length: 40000 }, () => {
      const point = random() < 0.6 ? `.${digits(Math.floor(random() * 20))}` : "";
      const exponent = random() < 0.5 ? `e${Math.floor(random() * 160 - 80)}` : "";
      return `${random() < 0.5 ? "-" : ""}${
        digits(1 + Math.floor(random() * 25))
      }${point}${exponent}`;
    });
    assert.deepEqual(mismatches(texts), []);
  });

  test("agrees with Number() on exact midpoints between doubles and on their nearest short decimals", () => {
    const random = lcg(3);
    const word = new BigUint64Array(1);
    const float = new Float64Array(word.buffer);
    const texts: string[] = [];
    for (let k = 0; k < 10000; k++) {
      float[0] = (random() + 0.5) * 2 ** Math.floor(random() * 200 - 100);
      const significand = (word[0]! & ((1n << 52n) - 1n)) | (1n << 52n);
      const shift = Number((word[0]! >> 52n) & 0x7ffn) - 1075;
      const midpoint = exactDecimal(2n * significand + 1n, shift - 1);
      texts.push(midpoint);
      const [whole, fraction = ""] = midpoint.split(".");
      const all = `${whole}${fraction}`;
      const lead = all.length - all.replace(/^0+/, "").length;
      for (const keep of [16, 17, 18, 19]) {
        const kept = all.slice(lead, lead + keep);
        const exponent = whole!.length - lead - kept.length;
        texts.push(
          `${kept}e${exponent}`,
          `-${kept}e${exponent}`,
          `${BigInt(kept) + 1n}e${exponent}`,
        );
      }
    }
    assert.deepEqual(mismatches(texts), []);
  });

  test("rounds integer ties written with a negative exponent as Number() does (half to even)", () => {
    // Midpoints of doubles in [2^53, 2^58) are integers of 16–18 digits. Written as 10·M·10^-1
    // and the like, 10^E is inexact, so the double-double must land exactly on the tie.
    const random = lcg(9);
    const texts: string[] = [];
    for (let k = 0; k < 5000; k++) {
      const shift = 1 + Math.floor(random() * 5);
      const significand = (1n << 52n) + BigInt(Math.floor(random() * 2 ** 52));
      const midpoint = ((2n * significand + 1n) << BigInt(shift - 1)).toString();
      texts.push(
        midpoint,
        `${midpoint}0e-1`,
        `${midpoint}.0e-0`,
        `0.${midpoint}e${midpoint.length}`,
      );
      if (midpoint.length <= 17) texts.push(`${midpoint}0e-1`, `${midpoint}00e-2`);
    }
    assert.deepEqual(mismatches(texts), []);
  });
});
