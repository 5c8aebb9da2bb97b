import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { BatchCorrError } from "../../mod.ts";
import { APACHE_ARROW } from "../../src/arrow/_load_arrow.ts";
import {
  currentRuntime,
  installCommands,
  loadOptionalPackage,
  missingPackageError,
  optionalPackageLoader,
  PEER_MISSING,
} from "../../src/core/optional_package.ts";
import { HYPARQUET } from "../../src/parquet/_load_hyparquet.ts";
import { IOREDIS } from "../../src/redis/_client.ts";
import { NATS_PACKAGES } from "../../src/nats/_client.ts";
import { TFJS } from "../../src/tfjs/_tfjs.ts";

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  assert.fail("expected a rejection");
}

// What each runtime throws for a package that is not there.
const NOT_FOUND = {
  bun: "Cannot find package 'apache-arrow' from '/app/src/arrow/_load_arrow.ts'",
  deno:
    "Could not find a matching package for 'npm:apache-arrow@^21.0.0' in the node_modules directory.",
  node: Object.assign(new Error("Cannot find package 'apache-arrow' imported from /app/x.js"), {
    code: "ERR_MODULE_NOT_FOUND",
  }),
};

describe("optional packages (one mechanism for every integration)", () => {
  for (const [runtime, failure] of Object.entries(NOT_FOUND)) {
    test(`a failed import (as ${runtime} reports it) names the package and the install commands`, async () => {
      const load = optionalPackageLoader(
        APACHE_ARROW,
        () => Promise.reject(typeof failure === "string" ? new TypeError(failure) : failure),
      );
      const error = await rejection(load());
      assert.ok(error instanceof BatchCorrError);
      assert.equal(error.code, "peer_missing");
      assert.match(
        error.message,
        /^Cannot use Arrow IPC as the optional package apache-arrow \(\^21\.0\.0\) must be installed: current value is not installed/,
      );
      assert.match(
        error.message,
        /add it with "deno add npm:apache-arrow@\^21\.0\.0" \(Deno\), "bun add apache-arrow@\^21\.0\.0" \(Bun\) or "npm install apache-arrow@\^21\.0\.0" \(Node\.js\)$/,
      );
      assert.deepEqual(error.details.install, {
        deno: "deno add npm:apache-arrow@^21.0.0",
        bun: "bun add apache-arrow@^21.0.0",
        npm: "npm install apache-arrow@^21.0.0",
      });
      assert.equal(error.details.package, "apache-arrow");
      assert.ok(error.cause !== undefined);
    });
  }

  test("a package that is there but fails to load says so, still with the commands", async () => {
    const load = optionalPackageLoader(
      HYPARQUET,
      () => Promise.reject(new SyntaxError("Unexpected token 'export'")),
    );
    const error = await rejection(load());
    assert.ok(error instanceof BatchCorrError);
    assert.match(
      error.message,
      /^Cannot read Parquet as the optional package hyparquet \(\^1\.31\.0\) must be installed: current value is installed but could not be loaded \(Unexpected token 'export'\)/,
    );
    assert.match(error.message, /bun add hyparquet@\^1\.31\.0/);
  });

  test("a failure is not remembered: once the package is there, the next call loads it, and only once", async () => {
    let calls = 0;
    let installed = false;
    const load = optionalPackageLoader(HYPARQUET, () => {
      calls++;
      return installed
        ? Promise.resolve({ ok: true })
        : Promise.reject(new Error("Cannot find package 'hyparquet'"));
    });
    await rejection(load());
    installed = true;
    assert.deepEqual(await load(), { ok: true });
    assert.deepEqual(await load(), { ok: true });
    assert.equal(calls, 2);
  });

  test("missingPackageError() keeps the caller's details beside the package's", () => {
    const pkg = {
      name: "onnxruntime-node",
      range: "^1.30.0",
      feature: 'use the ONNX Runtime provider "cpu"',
    };
    const error = missingPackageError(pkg, new Error("Cannot find package 'onnxruntime-node'"), {
      provider: "cpu",
    });
    assert.equal(error.details.provider, "cpu");
    assert.equal(error.details.reason, "onnxruntime-node is not installed");
    assert.equal(error.details.installed, false);
    assert.match(
      error.message,
      /^Cannot use the ONNX Runtime provider "cpu" as the optional package onnxruntime-node \(\^1\.30\.0\) must be installed/,
    );
  });

  test("installCommands() gives each runtime's command", () => {
    assert.deepEqual(installCommands({ name: "x", range: "^1.0.0", feature: "do x" }), {
      deno: "deno add npm:x@^1.0.0",
      bun: "bun add x@^1.0.0",
      npm: "npm install x@^1.0.0",
    });
  });

  test("several packages installed together are named together, with one command each", () => {
    const error = missingPackageError(
      NATS_PACKAGES,
      new Error("Cannot find package '@nats-io/kv'"),
    );
    assert.equal(error.code, PEER_MISSING);
    assert.deepEqual(error.details.packages, [
      "@nats-io/transport-node",
      "@nats-io/jetstream",
      "@nats-io/kv",
    ]);
    assert.deepEqual(error.details.install, {
      deno:
        "deno add npm:@nats-io/transport-node@^3.4.0 npm:@nats-io/jetstream@^3.4.0 npm:@nats-io/kv@^3.4.0",
      bun: "bun add @nats-io/transport-node@^3.4.0 @nats-io/jetstream@^3.4.0 @nats-io/kv@^3.4.0",
      npm:
        "npm install @nats-io/transport-node@^3.4.0 @nats-io/jetstream@^3.4.0 @nats-io/kv@^3.4.0",
    });
    assert.match(
      error.message,
      /as the optional packages @nats-io\/transport-node \(\^3\.4\.0\), /,
    );
    assert.match(error.message, /; add them with "deno add npm:@nats-io/);
  });

  test("a module that lacks what the check asks for is refused as installed but unusable", async () => {
    const error = await rejection(
      loadOptionalPackage(IOREDIS, () => Promise.resolve({}), () => "the Redis class"),
    );
    assert.ok(error instanceof BatchCorrError);
    assert.equal(error.code, "peer_missing");
    assert.equal(error.details.installed, true);
    assert.match(
      error.message,
      /current value is installed but could not be loaded \(the module ioredis must export the Redis class: current module does not\)/,
    );
  });

  test("every integration's package and range is the one package.json lists as an optional peer", () => {
    const manifest = JSON.parse(
      readFileSync(new URL("../../package.json", import.meta.url), "utf8"),
    ) as {
      peerDependencies: Record<string, string>;
      peerDependenciesMeta: Record<string, { optional?: boolean }>;
    };
    const declared = [APACHE_ARROW, HYPARQUET, IOREDIS, TFJS, ...NATS_PACKAGES];
    for (const pkg of declared) {
      assert.equal(manifest.peerDependencies[pkg.name], pkg.range, pkg.name);
      assert.equal(manifest.peerDependenciesMeta[pkg.name]?.optional, true, pkg.name);
    }
    // The ONNX Runtime packages are checked by tests/onnx; together that is every optional peer.
    const covered = new Set([
      ...declared.map((p) => p.name),
      "onnxruntime-node",
      "onnxruntime-web",
    ]);
    assert.deepEqual(Object.keys(manifest.peerDependencies).filter((n) => !covered.has(n)), []);
  });

  test("currentRuntime() tells Deno from Bun", () => {
    const isBun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";
    assert.equal(currentRuntime(), isBun ? "bun" : "deno");
  });
});
