import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  encodePrometheusText,
  escapeHelp,
  escapeLabelValue,
  formatSampleValue,
  type MetricFamily,
} from "../../../src/cli/service/prometheus_text.ts";
import { findExecutable, parseExposition, promtool, skipWithout } from "./_support.ts";

const PROMTOOL = findExecutable("promtool");

const HOSTILE = [
  'quote " inside',
  "back\\slash",
  "line\nbreak",
  "trailing backslash \\",
  '\\"',
  "{curly}=,comma",
  "tab\there",
  "carriage\rreturn",
  "ünïcödé – 相関",
  "emoji 🧪",
  "",
  "a,feature:b",
];

describe("encodePrometheusText()", () => {
  test("writes HELP, TYPE and one line per sample, ending every line with a line feed", () => {
    const text = encodePrometheusText([
      { name: "a_total", help: "Things.", type: "counter", samples: [{ value: 3 }] },
      {
        name: "b",
        help: "B.",
        type: "gauge",
        samples: [{ labels: { x: "1" }, value: 0.5 }, { labels: { x: "2" }, value: -2 }],
      },
      { name: "c", help: "Nothing yet.", type: "gauge", samples: [] },
    ]);
    assert.equal(
      text,
      "# HELP a_total Things.\n# TYPE a_total counter\na_total 3\n" +
        '# HELP b B.\n# TYPE b gauge\nb{x="1"} 0.5\nb{x="2"} -2\n' +
        "# HELP c Nothing yet.\n# TYPE c gauge\n",
    );
  });

  test("escapes label values so that a reader of the format gets every hostile name back", () => {
    const family: MetricFamily = {
      name: "names",
      help: "Hostile names.",
      type: "gauge",
      samples: HOSTILE.map((name, i) => ({ labels: { name, i: String(i) }, value: i })),
    };
    const parsed = parseExposition(encodePrometheusText([family]));
    assert.deepEqual(parsed.samples.map((s) => s.labels.name), HOSTILE);
    assert.deepEqual(parsed.samples.map((s) => s.value), HOSTILE.map((_, i) => i));
    // Every sample stays on one line.
    assert.equal(encodePrometheusText([family]).split("\n").length, HOSTILE.length + 3);
  });

  test("escapes backslashes and line feeds in help text", () => {
    assert.equal(escapeHelp('a\\b\nc "d"'), 'a\\\\b\\nc "d"');
    const parsed = parseExposition(
      encodePrometheusText([{ name: "h", help: "x\\y\nz", type: "gauge", samples: [] }]),
    );
    assert.equal(parsed.help.get("h"), "x\\y\nz");
  });

  test("writes values that parse back to the same float64, with NaN and infinities as the format spells them", () => {
    const values = [
      0,
      -0,
      1,
      0.1 + 0.2,
      1e-300,
      5e-324,
      1.7976931348623157e308,
      123456789.123456789,
      -2.5e-8,
      NaN,
      Infinity,
      -Infinity,
    ];
    const text = encodePrometheusText([{
      name: "v",
      help: "Values.",
      type: "gauge",
      samples: values.map((value, i) => ({ labels: { i: String(i) }, value })),
    }]);
    const parsed = parseExposition(text).samples.map((s) => s.value);
    // -0 is written as 0, which Prometheus reads as +0.
    values.forEach((value, i) =>
      assert.ok(Object.is(parsed[i], Object.is(value, -0) ? 0 : value), `${value}`)
    );
    assert.deepEqual([NaN, Infinity, -Infinity].map(formatSampleValue), ["NaN", "+Inf", "-Inf"]);
  });

  test("refuses bad metric names, bad label names, a repeated family and a repeated label set", () => {
    const sample = [{ value: 1 }];
    assert.throws(
      () => encodePrometheusText([{ name: "1bad", help: "", type: "gauge", samples: sample }]),
      /metric name must match/,
    );
    assert.throws(
      () => encodePrometheusText([{ name: "bad-name", help: "", type: "gauge", samples: sample }]),
      RangeError,
    );
    assert.throws(
      () =>
        encodePrometheusText([{
          name: "g",
          help: "",
          type: "gauge",
          samples: [{ labels: { "le-x": "1" }, value: 1 }],
        }]),
      /label name of g must match/,
    );
    assert.throws(
      () =>
        encodePrometheusText([{
          name: "g",
          help: "",
          type: "gauge",
          samples: [{ labels: { __name__: "x" }, value: 1 }],
        }]),
      /not start with "__"/,
    );
    assert.throws(
      () =>
        encodePrometheusText([{ name: "g", help: "", type: "gauge", samples: sample }, {
          name: "g",
          help: "",
          type: "gauge",
          samples: sample,
        }]),
      /must appear once: current value "g" appears twice/,
    );
    assert.throws(
      () =>
        encodePrometheusText([{
          name: "g",
          help: "",
          type: "gauge",
          samples: [{ labels: { a: "1", b: "2" }, value: 1 }, {
            labels: { b: "2", a: "1" },
            value: 2,
          }],
        }]),
      /each label set of g must appear once/,
    );
    assert.throws(
      () =>
        encodePrometheusText([{
          name: "g",
          help: "",
          type: "summary" as "gauge",
          samples: sample,
        }]),
      /must be "counter", "gauge" or "untyped"/,
    );
    assert.throws(
      () =>
        encodePrometheusText([{
          name: "g",
          help: "",
          type: "gauge",
          samples: [{ labels: { a: 1 as unknown as string }, value: 1 }],
        }]),
      TypeError,
    );
  });

  test("escapeLabelValue() leaves every other character as it is", () => {
    assert.equal(escapeLabelValue("tab\t cr\r ü"), "tab\t cr\r ü");
    assert.equal(escapeLabelValue('"\\\n'), '\\"\\\\\\n');
  });

  test("promtool check metrics accepts hostile label values and special values", {
    skip: skipWithout("promtool", PROMTOOL, "apt-get install prometheus"),
  }, () => {
    assert.ok(PROMTOOL, "promtool must be installed under CI (apt-get install prometheus)");
    const text = encodePrometheusText([
      {
        name: "batch_corr_demo_value",
        help: 'Hostile "help" with \\ and\nbreak.',
        type: "gauge",
        samples: HOSTILE.map((name, i) => ({
          labels: { name, i: String(i) },
          value: [NaN, Infinity, -Infinity, 0.1][i % 4]!,
        })),
      },
      {
        name: "batch_corr_demo_total",
        help: "A counter.",
        type: "counter",
        samples: [{ value: 7 }],
      },
    ]);
    const result = promtool(PROMTOOL!, ["check", "metrics"], text);
    assert.equal(result.status, 0, result.output);
    // The check can fail: an unescaped quote is refused.
    const broken = promtool(
      PROMTOOL!,
      ["check", "metrics"],
      '# HELP x_a A.\n# TYPE x_a gauge\nx_a{n="a"b"} 1\n',
    );
    assert.notEqual(broken.status, 0, broken.output);
  });
});
