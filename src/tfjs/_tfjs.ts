/**
 * Loads `@tensorflow/tfjs`, an optional peer dependency, once, when the
 * `./tfjs` entry point is first imported, and says how to install it when it
 * is missing.
 *
 * @module
 */

import { BatchCorrError } from "../core/errors.ts";

/** The TensorFlow.js namespace, as `import * as tf from "@tensorflow/tfjs"` gives it. */
export type Tfjs = typeof import("@tensorflow/tfjs");

/** The package this integration needs. */
export const TFJS_PACKAGE = "@tensorflow/tfjs";

/** How to install it, for messages. */
export const TFJS_INSTALL_HINT =
  "install it with `deno add npm:@tensorflow/tfjs` or `bun add @tensorflow/tfjs` " +
  "(or `npm install @tensorflow/tfjs`)";

/** Imports the package: `import("@tensorflow/tfjs")` itself, or a stand-in in tests. */
export type ModuleImporter = () => Promise<unknown>;

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Imports TensorFlow.js, turning a failed import into an error that names the
 * package and the install command.
 *
 * @param importer How to import it (tests pass one that fails).
 * @returns The TensorFlow.js namespace.
 * @throws {BatchCorrError} With code "provider_unavailable" when the import
 * fails or yields something that is not TensorFlow.js; the failure is its `cause`.
 */
export async function loadTfjs(
  importer: ModuleImporter = () => import("@tensorflow/tfjs"),
): Promise<Tfjs> {
  let loaded: unknown;
  try {
    loaded = await importer();
  } catch (error) {
    throw new BatchCorrError(
      "provider_unavailable",
      `Cannot use @streamcorr/batch-corr/tfjs as its optional peer dependency ${TFJS_PACKAGE} could not be loaded: ${
        reasonOf(error)
      }; ${TFJS_INSTALL_HINT}`,
      { cause: error, details: { package: TFJS_PACKAGE } },
    );
  }
  const tf = loaded as Partial<Tfjs> | null;
  if (
    typeof tf !== "object" || tf === null || typeof tf.customGrad !== "function" ||
    typeof tf.Tensor !== "function"
  ) {
    throw new BatchCorrError(
      "provider_unavailable",
      `Cannot use @streamcorr/batch-corr/tfjs as the module ${TFJS_PACKAGE} must export TensorFlow.js (customGrad, Tensor): current value does not; ${TFJS_INSTALL_HINT}`,
      { details: { package: TFJS_PACKAGE } },
    );
  }
  return tf as Tfjs;
}

/** TensorFlow.js, loaded when this integration is first imported. */
export const tf: Tfjs = await loadTfjs();
