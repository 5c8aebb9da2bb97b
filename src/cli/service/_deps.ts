/**
 * Everything this folder takes from the rest of the package, in one place, so
 * that a move of those files changes one import list.
 *
 * @module
 */

export { renderReport, type ReportData, type ReportPoint, topFeatures } from "../report.ts";
export { describeValue } from "../../errors.ts";
export type { BadRow } from "../rows.ts";
