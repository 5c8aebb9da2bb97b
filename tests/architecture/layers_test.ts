import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { filesUnder, type ImportGraph, importGraph } from "./import_graph.ts";

/**
 * The folders of src/ and the folders each may import from: a layer uses the
 * layers below it, never one above (core knows nothing of kernels, the
 * accumulator nothing of batchCorr or the losses, and so on).
 */
const LAYERS: Readonly<Record<string, readonly string[]>> = {
  core: ["core"],
  kernels: ["core", "kernels"],
  batch_corr: ["core", "kernels", "batch_corr"],
  loss: ["core", "kernels", "batch_corr", "loss"],
  accumulator: ["core", "kernels", "accumulator"],
  stream: ["core", "kernels", "loss", "accumulator", "stream"],
  onnx: ["core", "stream", "onnx"],
  cli: [
    "core",
    "kernels",
    "batch_corr",
    "loss",
    "accumulator",
    "stream",
    "onnx",
    "distributed",
    "redis",
    "nats",
    "arrow",
    "parquet",
    "cli",
  ],
  arrow: ["core", "stream", "arrow"],
  parquet: ["core", "stream", "arrow", "parquet"],
  tfjs: ["core", "kernels", "batch_corr", "loss", "stream", "tfjs"],
  distributed: ["core", "kernels", "loss", "accumulator", "stream", "distributed"],
  redis: ["core", "loss", "accumulator", "stream", "distributed", "redis"],
  nats: ["core", "loss", "accumulator", "stream", "distributed", "nats"],
};

function folderOf(file: string): string | undefined {
  const parts = file.split("/");
  return parts[0] === "src" && parts.length > 2 ? parts[1] : undefined;
}

/** Imports that reach a layer their folder may not use, as "importer -> target". */
function violations(graph: ImportGraph): string[] {
  const found: string[] = [];
  for (const [importer, targets] of graph) {
    const from = folderOf(importer);
    if (from === undefined) continue;
    for (const target of targets) {
      const to = folderOf(target);
      if (to !== undefined && !(LAYERS[from] ?? []).includes(to)) {
        found.push(`${importer} -> ${target}`);
      }
    }
  }
  return found;
}

describe("layers", () => {
  test("every folder of src/ is a known layer", () => {
    const folders = new Set(filesUnder("src").map(folderOf).filter((f) => f !== undefined));
    assert.deepEqual([...folders].sort(), Object.keys(LAYERS).sort());
  });

  test("each layer imports only from itself and the layers below it", () => {
    assert.deepEqual(violations(importGraph(filesUnder("src"))), []);
  });

  test("an import from a lower layer into a higher one is reported", () => {
    const toy: ImportGraph = new Map([
      ["src/core/a.ts", ["src/accumulator/b.ts", "src/core/c.ts"]],
      ["src/stream/d.ts", ["src/accumulator/b.ts"]],
    ]);
    assert.deepEqual(violations(toy), ["src/core/a.ts -> src/accumulator/b.ts"]);
  });
});
