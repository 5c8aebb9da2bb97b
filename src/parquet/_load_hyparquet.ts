/**
 * `hyparquet`, imported on first use.
 *
 * @module
 */

import { type OptionalPackage, optionalPackageLoader } from "../core/optional_package.ts";

/** The hyparquet module. */
export type HyparquetModule = typeof import("hyparquet");

/** The package the Parquet reader needs. */
export const HYPARQUET: OptionalPackage = {
  name: "hyparquet",
  range: "^1.31.0",
  feature: "read Parquet",
};

/** The package with decompressors for the codecs hyparquet lacks (ZSTD, Brotli, LZ4…). */
export const HYPARQUET_COMPRESSORS: OptionalPackage = {
  name: "hyparquet-compressors",
  range: "^1.1.0",
  feature: "decompress Parquet columns",
};

/**
 * Loads hyparquet (once).
 *
 * @returns The module.
 * @throws {BatchCorrError} `"peer_missing"` naming the package and the install commands when it is missing.
 */
export const loadHyparquet: () => Promise<HyparquetModule> = optionalPackageLoader(
  HYPARQUET,
  () => import("hyparquet"),
);
