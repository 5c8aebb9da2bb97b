/**
 * The options of the ONNX backend and of its `run`: schemas, rules, and the
 * resolved form the implementation reads.
 *
 * @module
 */

import { z } from "zod";
import { tolSchema, tolSigSchema } from "../core/batch_corr_options.ts";
import { AUTO_PROVIDER_ORDER } from "./onnx_backend.ts";

/** Every provider name `createOnnxBackend` accepts. */
export const PROVIDERS: readonly string[] = ["auto", ...AUTO_PROVIDER_ORDER];

/** Schema of `OnnxBackendOptions`. */
export const backendOptionsSchema = z.strictObject({
  provider: z.string().default("auto"),
  abs: z.boolean().default(true),
  zeroVariance: z.enum(["zero", "nan"]).default("zero"),
  threads: z.number().int().nonnegative().max(1024).optional(),
  adapterTimeoutMs: z.number().positive().finite().default(5000),
});

/** Schema of `OnnxRunOptions`. */
export const runOptionsSchema = z.strictObject({
  tol: tolSchema.default(0),
  tolSig: tolSigSchema.default(0.1),
});

/** The rule of each backend and run option, in words, for messages. */
export const BACKEND_RULES: Readonly<Record<string, string>> = {
  provider: PROVIDERS.map((p) => JSON.stringify(p)).join(", "),
  abs: "a boolean",
  zeroVariance: '"zero" or "nan"',
  threads: "a non-negative integer",
  adapterTimeoutMs: "a positive finite number of milliseconds",
  tol: 'a finite non-negative number or "auto"',
  tolSig: "a number in the open interval (0, 1)",
};

/** Backend options after validation, defaults applied. */
export interface ResolvedBackendOptions {
  provider: string;
  abs: boolean;
  zeroVariance: "zero" | "nan";
  threads?: number | undefined;
  adapterTimeoutMs: number;
}
