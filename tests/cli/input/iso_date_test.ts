import { describe, test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import fc from "fast-check";
import { parseIsoDate } from "../../../src/cli/input/iso_date.ts";

const RUNS = Number(process.env.BATCHCORR_FUZZ_RUNS ?? 1000);
const two = (n: number) => String(n).padStart(2, "0");

describe("parseIsoDate()", () => {
  test("agrees with Date.parse of the same instant written in full ISO form with Z or the offset", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 9999 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 31 }),
        fc.option(
          fc.tuple(
            fc.integer({ min: 0, max: 23 }),
            fc.integer({ min: 0, max: 59 }),
            fc.integer({ min: 0, max: 59 }),
            fc.integer({ min: 0, max: 999 }),
          ),
        ),
        fc.option(
          fc.tuple(
            fc.constantFrom("+", "-"),
            fc.integer({ min: 0, max: 14 }),
            fc.integer({ min: 0, max: 59 }),
          ),
        ),
        fc.constantFrom("T", " "),
        (year, month, day, time, zone, separator) => {
          const date = `${String(year).padStart(4, "0")}-${two(month)}-${two(day)}`;
          // Days in the month, from the calendar itself: day 0 of the next month.
          const reference = new Date(0);
          reference.setUTCFullYear(year, month, 0);
          const valid = day <= reference.getUTCDate();
          const [h, mi, s, ms] = time ?? [0, 0, 0, 0];
          const clock = `${two(h)}:${two(mi)}:${two(s)}.${String(ms).padStart(3, "0")}`;
          const offset = zone === null || time === null
            ? "Z"
            : `${zone[0]}${two(zone[1])}:${two(zone[2])}`;
          const text = time === null
            ? date
            : `${date}${separator}${clock}${zone === null ? "" : offset}`;
          const expected = valid ? Date.parse(`${date}T${clock}${offset}`) : undefined;
          assert.equal(parseIsoDate(text), expected, text);
        },
      ),
      { numRuns: RUNS, seed: 20261204 },
    );
  });

  test("reads every date-time without an offset as UTC, whatever the process's time zone", () => {
    assert.equal(parseIsoDate("2012-03-10T02:00"), Date.UTC(2012, 2, 10, 2, 0));
    assert.equal(parseIsoDate("2012-03-10 02:00:30"), Date.UTC(2012, 2, 10, 2, 0, 30));
    assert.equal(parseIsoDate("2012-03-10"), Date.UTC(2012, 2, 10));
    assert.equal(parseIsoDate("0050-06-01"), Date.parse("0050-06-01T00:00:00Z")); // year 50, not 1950
  });

  test("takes the short offset forms and cuts fractions to milliseconds", () => {
    assert.equal(parseIsoDate("2012-01-01T12:00+0130"), Date.UTC(2012, 0, 1, 10, 30));
    assert.equal(parseIsoDate("2012-01-01T12:00-05"), Date.UTC(2012, 0, 1, 17, 0));
    assert.equal(
      parseIsoDate("2012-01-01t12:00:00.123456789z"),
      Date.UTC(2012, 0, 1, 12, 0, 0, 123),
    );
    assert.equal(parseIsoDate(" 2012-01-01\t"), Date.UTC(2012, 0, 1));
  });

  test("refuses impossible fields and every other format", () => {
    for (
      const text of [
        "2012-02-30",
        "2013-02-29",
        "1900-02-29",
        "2012-00-10",
        "2012-13-01",
        "2012-01-00",
        "2012-01-01T24:00",
        "2012-01-01T23:60",
        "2012-01-01T23:59:60",
        "2012-01-01T12:00+24:00",
        "2012-01-01T12:00+01:60",
        "2012-01-01Z",
        "2012-1-1",
        "12-01-01",
        "2012/01/01",
        "01/02/2012",
        "Jan 1 2012",
        "1 January 2012",
        "2012-01-01T12",
        "+002012-01-01",
        "1325376000000",
        "",
        "\u00a02012-01-01",
      ]
    ) {
      assert.equal(parseIsoDate(text), undefined, text);
    }
  });
});
