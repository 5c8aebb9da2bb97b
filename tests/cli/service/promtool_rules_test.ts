import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { DriftMetrics } from "../../../src/cli/service/drift_metrics.ts";
import { findExecutable, promtool, skipWithout } from "./_support.ts";

const PROMTOOL = findExecutable("promtool");
const RULES = fileURLToPath(
  new URL("../../../examples/prometheus/batch_corr.rules.yml", import.meta.url),
);
const CONFIG = fileURLToPath(
  new URL("../../../examples/prometheus/prometheus.yml", import.meta.url),
);
const RULE_TESTS = fileURLToPath(new URL("./batch_corr.rules.test.yml", import.meta.url));
const skip = skipWithout("promtool", PROMTOOL, "apt-get install prometheus");

describe("examples/prometheus", () => {
  test("every metric the rules use is one the service exposes", () => {
    const exposed = new Set(
      new DriftMetrics({ features: ["f"], confounds: ["c"] }).families().map((f) => f.name),
    );
    const used = new Set(readFileSync(RULES, "utf8").match(/\bbatch_corr_[a-z_]+\b/g));
    assert.ok(used.size >= 5, [...used].join(", "));
    for (const name of used) {
      assert.ok(exposed.has(name), `${name} is used by the rules but not exposed`);
    }
  });

  test("promtool check rules accepts the committed rule file", { skip }, () => {
    assert.ok(PROMTOOL, "promtool must be installed under CI (apt-get install prometheus)");
    const result = promtool(PROMTOOL!, ["check", "rules", RULES]);
    assert.equal(result.status, 0, result.output);
    assert.match(result.output, /SUCCESS: 5 rules found/);
  });

  test(
    "promtool check config accepts the committed scrape config and its rule file",
    { skip },
    () => {
      const result = promtool(PROMTOOL!, ["check", "config", CONFIG]);
      assert.equal(result.status, 0, result.output);
      assert.match(result.output, /SUCCESS: 1 rule files found/);
    },
  );

  test("the rules fire as their unit tests say, with their real durations (promtool test rules)", {
    skip,
  }, () => {
    const result = promtool(PROMTOOL!, ["test", "rules", RULE_TESTS]);
    assert.equal(result.status, 0, result.output);
    assert.match(result.output, /SUCCESS/);
  });
});
