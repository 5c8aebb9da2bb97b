import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  formatListenAddress,
  isListenHost,
  parseListenAddress,
  safeParseListenAddress,
} from "../../../src/cli/service/listen_address.ts";

describe("parseListenAddress()", () => {
  test("reads HOST:PORT, :PORT, PORT and bracketed IPv6, with 127.0.0.1 as the default host", () => {
    assert.deepEqual(parseListenAddress("127.0.0.1:9464"), { host: "127.0.0.1", port: 9464 });
    assert.deepEqual(parseListenAddress(":9464"), { host: "127.0.0.1", port: 9464 });
    assert.deepEqual(parseListenAddress("9464"), { host: "127.0.0.1", port: 9464 });
    assert.deepEqual(parseListenAddress(" 0.0.0.0:0 "), { host: "0.0.0.0", port: 0 });
    assert.deepEqual(parseListenAddress("[::1]:65535"), { host: "::1", port: 65535 });
    assert.deepEqual(parseListenAddress("[::]:80"), { host: "::", port: 80 });
    assert.deepEqual(parseListenAddress("localhost:9100"), { host: "localhost", port: 9100 });
    assert.deepEqual(parseListenAddress("metrics.example.org:1"), {
      host: "metrics.example.org",
      port: 1,
    });
    assert.deepEqual(parseListenAddress(":1", { defaultHost: "::1" }), { host: "::1", port: 1 });
  });

  test("refuses a host that is not an address, naming the rule and the value", () => {
    for (
      const text of [
        "not a host:9464",
        "999.1.1.1:9464",
        "1.2.3:9464",
        "-bad-:1",
        "a..b:1",
        "[1.2.3.4]:1",
        "[::1:1",
        "::1:9464",
        "host_name:1",
        `${"a".repeat(64)}:1`,
      ]
    ) {
      const result = safeParseListenAddress(text);
      assert.equal(result.success, false, text);
      assert.ok(!result.success && result.error instanceof RangeError, text);
      assert.match(result.error.message, /^Cannot listen for metrics as /, text);
    }
    assert.throws(
      () => parseListenAddress("not a host:9464"),
      /the host of "not a host:9464" must be an IPv4 address, a bracketed IPv6 address or a host name .*: current value is "not a host"/,
    );
    assert.throws(
      () => parseListenAddress("::1:9464"),
      /IPv6 host of "::1:9464" must be in brackets/,
    );
  });

  test("refuses a missing or out-of-range port", () => {
    assert.throws(
      () => parseListenAddress("127.0.0.1"),
      /must be HOST:PORT, :PORT or PORT .*: current value has no port/,
    );
    assert.throws(
      () => parseListenAddress("127.0.0.1:"),
      /port of "127.0.0.1:" must be an integer from 0 to 65535/,
    );
    assert.throws(() => parseListenAddress("127.0.0.1:65536"), /current value is "65536"/);
    assert.throws(() => parseListenAddress("127.0.0.1:-1"), RangeError);
    assert.throws(() => parseListenAddress("127.0.0.1:80.5"), RangeError);
    assert.throws(() => parseListenAddress("127.0.0.1:0x50"), RangeError);
    assert.throws(() => parseListenAddress(""), RangeError);
    assert.throws(() => parseListenAddress(9464 as unknown as string), TypeError);
  });

  test("formats addresses back, bracketing IPv6", () => {
    for (const text of ["127.0.0.1:9464", "[::1]:0", "localhost:80"]) {
      assert.equal(formatListenAddress(parseListenAddress(text)), text);
    }
    assert.ok(
      isListenHost("fe80::1") && isListenHost("a-b.c1") && !isListenHost("1.2.3.256") &&
        !isListenHost(""),
    );
  });
});
