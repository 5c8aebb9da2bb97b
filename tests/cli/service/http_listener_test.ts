import { describe, test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { listenHttp } from "../../../src/cli/service/http_listener.ts";
import { ServiceError } from "../../../src/cli/service/service_error.ts";

describe("listenHttp()", () => {
  test("serves the handler on a free port and reports the port chosen", async () => {
    const listener = listenHttp((request) => new Response(new URL(request.url).pathname), {
      host: "127.0.0.1",
      port: 0,
    });
    try {
      assert.ok(listener.port > 0);
      assert.equal(listener.url, `http://127.0.0.1:${listener.port}`);
      assert.equal(await (await fetch(`${listener.url}/a/b`)).text(), "/a/b");
    } finally {
      await listener.close();
    }
    await listener.close();
  });

  test("answers 500 without details when the handler throws", async () => {
    const listener = listenHttp(() => {
      throw new Error("secret internals");
    }, { host: "127.0.0.1", port: 0 });
    try {
      const response = await fetch(`${listener.url}/`);
      assert.equal(response.status, 500);
      assert.equal(await response.text(), "internal error\n");
    } finally {
      await listener.close();
    }
  });

  test("a port in use gives a ServiceError address_in_use naming the address", async () => {
    const other = net.createServer();
    await new Promise<void>((resolve) => other.listen(0, "127.0.0.1", resolve));
    const port = (other.address() as net.AddressInfo).port;
    try {
      assert.throws(
        () => listenHttp(() => new Response(), { host: "127.0.0.1", port }),
        (error: unknown) => {
          assert.ok(error instanceof ServiceError);
          assert.equal(error.code, "address_in_use");
          assert.equal(error.details.port, port);
          assert.match(
            error.message,
            new RegExp(
              `^Cannot listen for metrics on 127\\.0\\.0\\.1:${port} as the port must be free: current value ${port} is in use`,
            ),
          );
          return true;
        },
      );
    } finally {
      await new Promise<void>((resolve) => other.close(() => resolve()));
    }
  });

  test("a host that is not an address of this machine gives a ServiceError address_unavailable", () => {
    // 192.0.2.0/24 is reserved for documentation: never a local address (and
    // no name lookup leaves the machine).
    for (const host of ["192.0.2.1"]) {
      assert.throws(
        () => listenHttp(() => new Response(), { host, port: 0 }),
        (error: unknown) => {
          assert.ok(error instanceof ServiceError, String(error));
          assert.equal(error.code, "address_unavailable", error.message);
          assert.match(
            error.message,
            new RegExp(
              `as the host must be an address of this machine: current value "${
                host.replace(/\./g, "\\.")
              }" is not`,
            ),
          );
          return true;
        },
      );
    }
  });
});
