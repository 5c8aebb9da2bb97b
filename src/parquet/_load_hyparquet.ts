/**
 * `hyparquet`, imported on first use.
 *
 * @module
 */

import { type OptionalPackage, optionalPackageLoader } from "../arrow/optional_package.ts";

/** The hyparquet module. */
export type HyparquetModule = typeof import("hyparquet");

/** The package the Parquet reader needs. */
export const HYPARQUET: OptionalPackage = {
  name: "hyparquet",
  range: "^1.31.0",
  feature: "read Parquet",
};

/**
 * Loads hyparquet (once).
 *
 * @returns The module.
 * @throws {BatchCorrError} `"provider_unavailable"` naming the package and the install commands when it is missing.
 */
export const loadHyparquet: () => Promise<HyparquetModule> = optionalPackageLoader(
  HYPARQUET,
  () => import("hyparquet"),
);
