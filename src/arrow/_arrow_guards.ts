/**
 * Tells apart what `fromArrow` reads: an apache-arrow `Table`, a
 * `RecordBatch`, or IPC bytes.
 *
 * @module
 */

import type * as Arrow from "apache-arrow";

export function isTable(value: unknown): value is Arrow.Table {
  return typeof value === "object" && value !== null &&
    Array.isArray((value as Arrow.Table).batches) &&
    typeof (value as Arrow.Table).schema === "object";
}

export function isRecordBatch(value: unknown): value is Arrow.RecordBatch {
  return typeof value === "object" && value !== null && !isTable(value) &&
    typeof (value as Arrow.RecordBatch).numRows === "number" &&
    typeof (value as Arrow.RecordBatch).schema === "object" &&
    typeof (value as Arrow.RecordBatch).data === "object" &&
    typeof (value as Arrow.RecordBatch).getChildAt === "function";
}

export function isBytes(value: unknown): value is Uint8Array | ArrayBuffer {
  return value instanceof Uint8Array || value instanceof ArrayBuffer;
}

export function bytesOf(value: Uint8Array | ArrayBuffer): Uint8Array {
  return value instanceof Uint8Array ? value : new Uint8Array(value);
}
