import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { BatchCorrError } from "../../mod.ts";
import { describeValue, thrownText } from "../../src/core/errors.ts";

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

  test("describeValue never throws: a revoked Proxy, a trap or a constructor getter that throws, a constructor whose name is not a string", () => {
    const revocable = Proxy.revocable({}, {});
    revocable.revoke();
    const hostile = [
      revocable.proxy,
      new Proxy({}, {
        get() {
          throw new Error("trap");
        },
      }),
      {
        get constructor() {
          throw new Error("getter");
        },
      },
      { constructor: { name: Object.create(null) } },
      Object.create(null),
    ];
    for (const value of hostile) assert.equal(describeValue(value), "an object");
    assert.equal(describeValue(new Date(0)), "a Date");
    assert.equal(describeValue([1, 2]), "an array of length 2");
    assert.equal(describeValue(new Float32Array(3)), "a Float32Array of length 3");
  });

  test("thrownText gives an Error's message, a string as it is, and a description of anything else", () => {
    assert.equal(thrownText(new RangeError("out")), "out");
    assert.equal(thrownText("boom"), "boom");
    assert.equal(thrownText(Object.create(null)), "an object");
    assert.equal(thrownText(7n), "7n");
  });
});
