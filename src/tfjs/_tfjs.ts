/**
 * Loads `@tensorflow/tfjs`, an optional peer dependency, once, when the
 * `./tfjs` entry point is first imported, and says how to install it when it
 * is missing.
 *
 * @module
 */

import { loadOptionalPackage, type OptionalPackage } from "../core/optional_package.ts";

/** The TensorFlow.js namespace, as `import * as tf from "@tensorflow/tfjs"` gives it. */
export type Tfjs = typeof import("@tensorflow/tfjs");

/** The package this integration needs (the range of package.json's peerDependencies). */
export const TFJS: OptionalPackage = {
  name: "@tensorflow/tfjs",
  range: "^4.22.0",
  feature: "use @streamcorr/batch-corr/tfjs",
};

/** The package's name. */
export const TFJS_PACKAGE: string = TFJS.name;

/** Imports the package: `import("@tensorflow/tfjs")` itself, or a stand-in in tests. */
export type ModuleImporter = () => Promise<unknown>;

function lacksTfjs(module: unknown): string | undefined {
  const tf = module as Partial<Tfjs> | null;
  const ok = typeof tf === "object" && tf !== null && typeof tf.customGrad === "function" &&
    typeof tf.Tensor === "function";
  return ok ? undefined : "TensorFlow.js (customGrad, Tensor)";
}

/**
 * Imports TensorFlow.js, turning a failed import into the one error of a
 * missing optional package (`src/core/optional_package.ts`).
 *
 * @param importer How to import it (tests pass one that fails).
 * @returns The TensorFlow.js namespace.
 * @throws {BatchCorrError} With code "peer_missing" when the import fails or
 * yields something that is not TensorFlow.js, naming the package and the
 * commands that install it; the failure is its `cause`.
 */
export async function loadTfjs(
  importer: ModuleImporter = () => import("@tensorflow/tfjs"),
): Promise<Tfjs> {
  return await loadOptionalPackage(TFJS, importer, lacksTfjs) as Tfjs;
}

/** TensorFlow.js, loaded when this integration is first imported. */
export const tf: Tfjs = await loadTfjs();
