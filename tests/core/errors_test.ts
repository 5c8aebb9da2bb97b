import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { BatchCorrError } from "../../mod.ts";

describe("BatchCorrError", () => {
  test("a cause or details that only Object.prototype holds is none", () => {
    const proto = Object.prototype as Record<string, unknown>;
    proto.cause = "polluted";
    proto.details = { polluted: true };
    try {
      const error = new BatchCorrError("invalid_snapshot", "Cannot restore as it must be: x");
      assert.equal(Object.hasOwn(error, "cause"), false);
      assert.deepEqual(Object.keys(error.details), []);
      const own = new BatchCorrError("backend_failed", "m", { cause: 1, details: { index: 2 } });
      assert.equal(own.cause, 1);
      assert.deepEqual({ ...own.details }, { index: 2 });
    } finally {
      delete proto.cause;
      delete proto.details;
    }
  });
});
