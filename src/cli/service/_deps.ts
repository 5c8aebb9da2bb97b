/**
 * Everything this folder takes from the rest of the package, in one place, so
 * that a move of those files changes one import list.
 *
 * @module
 */

export { renderReport } from "../output/report.ts";
export type { ReportData, ReportPoint } from "../output/report_data.ts";
export { topFeatures } from "../output/top_features.ts";
export { describeValue } from "../../core/errors.ts";
export type { BadRow } from "../input/bad_row_log.ts";
