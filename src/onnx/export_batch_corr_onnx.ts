/**
 * Export of the one-batch correlation graph as an ONNX model.
 *
 * The graph computes, in float32, what {@linkcode computeBatchMoments} and
 * `batchCorr` compute in float64 for one batch: centred moments (two-pass:
 * means first, then deviations), Pearson correlations and hypercoil's soft
 * threshold. The model is serialised by a small protobuf writer for the
 * subset of `onnx.proto` (ONNX 1.10) it uses (`_onnx_proto.ts`), whose bytes
 * the tests check against the protobufjs classes of `onnx-proto`.
 *
 * @module
 */

import { z } from "zod";
import { parseOptions } from "../core/parse_options.ts";
import type { ZeroVariancePolicy } from "../core/correlation_view.ts";
import {
  ATTRIBUTE_TYPE,
  type AttributeProto,
  DATA_TYPE,
  encodeModelProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from "./_onnx_proto.ts";

/**
 * ONNX IR version of exported models (ONNX 1.10).
 *
 * @example Checking a consumer's support
 * ```ts
 * import { ONNX_IR_VERSION, ONNX_OPSET } from "@streamcorr/batch-corr";
 * import assert from "node:assert/strict";
 *
 * assert.equal(ONNX_IR_VERSION, 8);
 * assert.equal(ONNX_OPSET, 15);
 * ```
 */
export const ONNX_IR_VERSION = 8;
/**
 * Default-domain operator set of exported models (ONNX 1.10).
 *
 * @example Checking a consumer's support
 * ```ts
 * import { ONNX_OPSET } from "@streamcorr/batch-corr";
 * import assert from "node:assert/strict";
 *
 * assert.ok(ONNX_OPSET >= 13);
 * ```
 */
export const ONNX_OPSET = 15;

/**
 * Names of the exported model's inputs and outputs.
 *
 * @example Feeding the model in another ONNX Runtime
 * ```ts
 * import { ONNX_IO } from "@streamcorr/batch-corr";
 * import assert from "node:assert/strict";
 *
 * assert.equal(ONNX_IO.x, "x");
 * assert.equal(ONNX_IO.thresholded, "thresholded");
 * ```
 */
export const ONNX_IO = {
  /** Input: features `(B, F)` float32, B symbolic. */
  x: "x",
  /** Input: confounds `(M, B)` float32. */
  n: "n",
  /** Input: the tolerance, a float32 scalar (`"auto"` is resolved outside and fed in). */
  tol: "tol",
  /** Output: Pearson correlations `(F, M)`. */
  raw: "raw",
  /** Output: soft-thresholded correlations `(F, M)`. */
  thresholded: "thresholded",
  /** Output: feature means `(F)`. */
  meanX: "mean_x",
  /** Output: confound means `(M)`. */
  meanN: "mean_n",
  /** Output: features' sums of squared deviations `(F)`. */
  m2X: "m2_x",
  /** Output: confounds' sums of squared deviations `(M)`. */
  m2N: "m2_n",
  /** Output: co-moment `Σ (x − x̄)(n − n̄)`, `(F, M)`. */
  comoment: "comoment",
} as const;

/** Options of {@linkcode exportBatchCorrOnnx}. */
export interface ExportBatchCorrOnnxOptions {
  /** F, the number of features (columns of `x`), fixed in the model. */
  features: number;
  /** M, the number of confounds (rows of `n`), fixed in the model. */
  confounds: number;
  /**
   * Drop the sign of the thresholded values (baked into the graph).
   * @default {true}
   */
  abs?: boolean;
  /**
   * What a correlation with a zero-variance side (0/0) is: 0 or NaN (baked in).
   * @default {"zero"}
   */
  zeroVariance?: ZeroVariancePolicy;
}

const exportOptionsSchema = z.strictObject({
  features: z.number().int().positive().max(2 ** 31 - 1),
  confounds: z.number().int().positive().max(2 ** 31 - 1),
  abs: z.boolean().default(true),
  zeroVariance: z.enum(["zero", "nan"]).default("zero"),
});

const EXPORT_RULES: Record<string, string> = {
  features: "a positive integer",
  confounds: "a positive integer",
  abs: "a boolean",
  zeroVariance: '"zero" or "nan"',
};

const FLOAT = DATA_TYPE.FLOAT;
const INT64 = DATA_TYPE.INT64;
const BATCH_DIM = "batch";

function floatScalar(name: string, value: number): TensorProto {
  return { name, dataType: FLOAT, dims: [], floatData: [value] };
}

function int64Vector(name: string, values: number[]): TensorProto {
  return { name, dataType: INT64, dims: [values.length], int64Data: values };
}

function intsAttribute(name: string, ints: number[]): AttributeProto {
  return { name, type: ATTRIBUTE_TYPE.INTS, ints };
}

function intAttribute(name: string, i: number): AttributeProto {
  return { name, type: ATTRIBUTE_TYPE.INT, i };
}

function node(
  opType: string,
  inputs: string[],
  output: string,
  attribute: AttributeProto[] = [],
): NodeProto {
  return { opType, input: inputs, output: [output], name: output, attribute };
}

/** A reduction over one axis keeping it (opset 13–17 take axes as an attribute). */
function reduce(opType: string, input: string, axis: number, output: string): NodeProto {
  return node(opType, [input], output, [
    intsAttribute("axes", [axis]),
    intAttribute("keepdims", 1),
  ]);
}

function floatValueInfo(name: string, dims: (number | string)[]): ValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: FLOAT,
        shape: { dim: dims.map((d) => typeof d === "number" ? { dimValue: d } : { dimParam: d }) },
      },
    },
  };
}

/**
 * Graph nodes. Shapes in comments: B samples, F features, M confounds.
 *
 * Each column is centred on `first + mean(column − first)`, its first sample
 * plus the mean of the shifted column, then deviations are taken from that
 * centre (two passes). A constant column shifts to exact zeros, so its centre
 * is exactly its value and its deviations, sum of squares and co-moments are
 * exactly 0, as in the TypeScript kernel; a plain float32 mean of a constant
 * column is not always the constant, which would leave a rounding residue and
 * a spurious ±1. The shift also takes large offsets (`1e4 + noise`) out before
 * the mean is summed.
 */
function graphNodes(abs: boolean, zeroVariance: ZeroVariancePolicy): NodeProto[] {
  const nodes: NodeProto[] = [
    node("Slice", ["x", "first", "second", "axis_0"], "shift_x"), // (1, F)
    node("Slice", ["n", "first", "second", "axis_1"], "shift_n"), // (M, 1)
    node("Sub", ["x", "shift_x"], "shifted_x"), // (B, F)
    node("Sub", ["n", "shift_n"], "shifted_n"), // (M, B)
    reduce("ReduceMean", "shifted_x", 0, "shifted_mean_x"), // (1, F)
    reduce("ReduceMean", "shifted_n", 1, "shifted_mean_n"), // (M, 1)
    node("Add", ["shift_x", "shifted_mean_x"], "mean_x_k"), // (1, F)
    node("Add", ["shift_n", "shifted_mean_n"], "mean_n_k"), // (M, 1)
    node("Sub", ["x", "mean_x_k"], "dx"), // (B, F)
    node("Sub", ["n", "mean_n_k"], "dn"), // (M, B)
    reduce("ReduceSumSquare", "dx", 0, "m2_x_k"), // (1, F)
    reduce("ReduceSumSquare", "dn", 1, "m2_n_k"), // (M, 1)
    // dn · dx = Σ_b dn[m, b] dx[b, f]: a row-major product, faster than Gemm on dxᵀ.
    node("MatMul", ["dn", "dx"], "comoment_mf"), // (M, F)
    node("Transpose", ["comoment_mf"], "comoment_raw"), // (F, M)
    node("Transpose", ["m2_x_k"], "m2_x_col"), // (F, 1)
    node("Transpose", ["m2_n_k"], "m2_n_row"), // (1, M)
    node("Sqrt", ["m2_x_col"], "sd_x"),
    node("Sqrt", ["m2_n_row"], "sd_n"),
    node("Mul", ["sd_x", "sd_n"], "denominator"), // (F, M)
    // Also catches sums of squares that underflow to 0 without a constant column.
    node("Equal", ["denominator", "zero"], "degenerate"),
    node("Where", ["degenerate", "zero", "comoment_raw"], ONNX_IO.comoment),
    node("Div", [ONNX_IO.comoment, "denominator"], "ratio"),
    node("Where", ["degenerate", "degenerate_value", "ratio"], ONNX_IO.raw),
    node("Abs", [ONNX_IO.raw], "abs_r"),
    node("Sub", ["abs_r", ONNX_IO.tol], "excess"),
    node("Relu", ["excess"], "shrunk"),
  ];
  let thresholded = "shrunk";
  if (!abs) {
    nodes.push(node("Sign", [ONNX_IO.raw], "sign_r"), node("Mul", ["sign_r", "shrunk"], "signed"));
    thresholded = "signed";
  }
  if (zeroVariance === "nan") {
    // Relu's handling of NaN is left to each provider; restate it explicitly.
    nodes.push(node("Where", ["degenerate", "degenerate_value", thresholded], ONNX_IO.thresholded));
  } else {
    nodes.push(node("Identity", [thresholded], ONNX_IO.thresholded));
  }
  nodes.push(
    node("Reshape", ["mean_x_k", "flat"], ONNX_IO.meanX),
    node("Reshape", ["mean_n_k", "flat"], ONNX_IO.meanN),
    node("Reshape", ["m2_x_k", "flat"], ONNX_IO.m2X),
    node("Reshape", ["m2_n_k", "flat"], ONNX_IO.m2N),
  );
  return nodes;
}

/**
 * Builds the ONNX model of one batch of `batchCorr` and its moments.
 *
 * Inputs: `x` float32 `(B, F)` and `n` float32 `(M, B)` with B symbolic
 * (`"batch"`), and `tol`, a float32 scalar fed on every run (so one model
 * serves every tolerance; `tol: "auto"` depends on B and is resolved outside
 * with `autoTol(B)`). It is a plain input rather than an initializer with a
 * default because ONNX Runtime's JS APIs do not accept feeds for
 * initializers. Outputs: `raw` and
 * `thresholded` `(F, M)`, and the moments the running accumulator merges:
 * `mean_x` `(F)`, `mean_n` `(M)`, `m2_x` `(F)`, `m2_n` `(M)`, `comoment`
 * `(F, M)`. Features are the columns of `x` in their natural order.
 *
 * The model has IR version {@linkcode ONNX_IR_VERSION} and imports the
 * default domain at opset {@linkcode ONNX_OPSET}. The graph centres in two
 * passes (mean, then deviations, the mean taken after shifting each column by
 * its first sample, which makes constant columns exactly 0) and reports a correlation with a constant
 * feature or confound as 0 (or NaN with `zeroVariance: "nan"`), as the
 * TypeScript path does. The scalarisation and `nu` stay in TypeScript.
 *
 * @param options F, M, `abs` and the zero-variance policy.
 * @returns The serialised `ModelProto`.
 * @throws {TypeError} If an option has a wrong type or an unknown key.
 * @throws {RangeError} If F or M is not a positive integer.
 *
 * @example Exporting a model for 3 features and 1 confound
 * ```ts
 * import { exportBatchCorrOnnx } from "@streamcorr/batch-corr";
 * import assert from "node:assert/strict";
 *
 * const model = exportBatchCorrOnnx({ features: 3, confounds: 1, abs: true });
 * assert.ok(model instanceof Uint8Array && model.length > 100);
 * // await Deno.writeFile("batch_corr.onnx", model);
 * ```
 */
export function exportBatchCorrOnnx(options: ExportBatchCorrOnnxOptions): Uint8Array {
  const context = "export the batchCorr ONNX model";
  const { features, confounds, abs, zeroVariance } = parseOptions(
    exportOptionsSchema,
    options,
    context,
    EXPORT_RULES,
  );
  const graph = {
    name: "batch_corr",
    docString:
      `batchCorr of one batch: ${features} features, ${confounds} confounds, abs=${abs}, zeroVariance=${zeroVariance}`,
    node: graphNodes(abs, zeroVariance),
    initializer: [
      floatScalar("zero", 0),
      floatScalar("degenerate_value", zeroVariance === "nan" ? Number.NaN : 0),
      int64Vector("flat", [-1]),
      int64Vector("first", [0]),
      int64Vector("second", [1]),
      int64Vector("axis_0", [0]),
      int64Vector("axis_1", [1]),
    ],
    input: [
      floatValueInfo(ONNX_IO.x, [BATCH_DIM, features]),
      floatValueInfo(ONNX_IO.n, [confounds, BATCH_DIM]),
      floatValueInfo(ONNX_IO.tol, []),
    ],
    output: [
      floatValueInfo(ONNX_IO.raw, [features, confounds]),
      floatValueInfo(ONNX_IO.thresholded, [features, confounds]),
      floatValueInfo(ONNX_IO.meanX, [features]),
      floatValueInfo(ONNX_IO.meanN, [confounds]),
      floatValueInfo(ONNX_IO.m2X, [features]),
      floatValueInfo(ONNX_IO.m2N, [confounds]),
      floatValueInfo(ONNX_IO.comoment, [features, confounds]),
    ],
  };
  return encodeModelProto({
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: "", version: ONNX_OPSET }],
    producerName: "@streamcorr/batch-corr",
    producerVersion: "0.1.0",
    docString:
      "hypercoil batch_corr of one mini-batch, with the centred moments for a running accumulator",
    metadataProps: [
      { key: "features", value: String(features) },
      { key: "confounds", value: String(confounds) },
      { key: "abs", value: String(abs) },
      { key: "zeroVariance", value: zeroVariance },
    ],
    graph,
  });
}
