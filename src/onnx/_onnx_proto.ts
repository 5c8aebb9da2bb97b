/**
 * The subset of ONNX's protobuf schema (`onnx.proto`, ONNX 1.10) that the
 * exporter emits, as plain TypeScript types and one encoder per message.
 *
 * Field numbers and types are those of `onnx.proto`; fields are written in
 * the order protobufjs' generated code writes them (declaration order of the
 * schema), so the bytes are those `onnx-proto` 8.0.1 produced for the same
 * model. A field is written when it is present, default value or not (as
 * protobufjs does for a property set on a message); an empty repeated field
 * is not written.
 *
 * @module
 */

import { ProtoWriter } from "./_protobuf_writer.ts";

/** `TensorProto.DataType` values used here. */
export const DATA_TYPE = { FLOAT: 1, INT64: 7 } as const;

/** `AttributeProto.AttributeType` values used here. */
export const ATTRIBUTE_TYPE = { INT: 2, INTS: 7 } as const;

/** `AttributeProto`: an INT or INTS attribute. */
export interface AttributeProto {
  name: string;
  type: number;
  i?: number;
  ints?: number[];
}

/** `NodeProto`. */
export interface NodeProto {
  input: string[];
  output: string[];
  name: string;
  opType: string;
  attribute: AttributeProto[];
}

/** `TensorProto` with float or int64 data. */
export interface TensorProto {
  dims: number[];
  dataType: number;
  floatData?: number[];
  int64Data?: number[];
  name: string;
}

/** `TensorShapeProto.Dimension`: a fixed size or a symbolic name. */
export type Dimension = { dimValue: number } | { dimParam: string };

/** `ValueInfoProto` of a tensor. */
export interface ValueInfoProto {
  name: string;
  type: { tensorType: { elemType: number; shape: { dim: Dimension[] } } };
}

/** `GraphProto`. */
export interface GraphProto {
  node: NodeProto[];
  name: string;
  initializer: TensorProto[];
  docString: string;
  input: ValueInfoProto[];
  output: ValueInfoProto[];
}

/** `ModelProto`. */
export interface ModelProto {
  irVersion: number;
  producerName: string;
  producerVersion: string;
  docString: string;
  graph: GraphProto;
  opsetImport: { domain: string; version: number }[];
  metadataProps: { key: string; value: string }[];
}

/** An optional field the message holds itself: never one only Object.prototype holds. */
function own<T extends object, K extends keyof T>(message: T, key: K): T[K] | undefined {
  return Object.hasOwn(message, key) ? message[key] : undefined;
}

function writeAttribute(w: ProtoWriter, a: AttributeProto): void {
  w.string(1, a.name);
  const i = own(a, "i"), ints = own(a, "ints");
  if (i !== undefined) w.integer(3, i);
  if (ints !== undefined) w.packedIntegers(8, ints);
  w.integer(20, a.type);
}

function writeNode(w: ProtoWriter, n: NodeProto): void {
  for (const input of n.input) w.string(1, input);
  for (const output of n.output) w.string(2, output);
  w.string(3, n.name);
  w.string(4, n.opType);
  for (const a of n.attribute) w.message(5, (m) => writeAttribute(m, a));
}

function writeTensor(w: ProtoWriter, t: TensorProto): void {
  w.packedIntegers(1, t.dims);
  w.integer(2, t.dataType);
  const floatData = own(t, "floatData"), int64Data = own(t, "int64Data");
  if (floatData !== undefined) w.packedFloats(4, floatData);
  if (int64Data !== undefined) w.packedIntegers(7, int64Data);
  w.string(8, t.name);
}

function writeDimension(w: ProtoWriter, d: Dimension): void {
  // Told apart by the dimension's own key, never by one Object.prototype holds.
  if (Object.hasOwn(d, "dimValue")) w.integer(1, (d as { dimValue: number }).dimValue);
  else w.string(2, (d as { dimParam: string }).dimParam);
}

function writeValueInfo(w: ProtoWriter, v: ValueInfoProto): void {
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.integer(1, v.type.tensorType.elemType);
      tensor.message(2, (shape) => {
        for (const d of v.type.tensorType.shape.dim) shape.message(1, (m) => writeDimension(m, d));
      });
    }));
}

function writeGraph(w: ProtoWriter, g: GraphProto): void {
  for (const n of g.node) w.message(1, (m) => writeNode(m, n));
  w.string(2, g.name);
  for (const t of g.initializer) w.message(5, (m) => writeTensor(m, t));
  w.string(10, g.docString);
  for (const v of g.input) w.message(11, (m) => writeValueInfo(m, v));
  for (const v of g.output) w.message(12, (m) => writeValueInfo(m, v));
}

/**
 * Serialises a model.
 *
 * @param model The model.
 * @returns Its protobuf bytes.
 */
export function encodeModelProto(model: ModelProto): Uint8Array {
  const w = new ProtoWriter();
  w.integer(1, model.irVersion);
  w.string(2, model.producerName);
  w.string(3, model.producerVersion);
  w.string(6, model.docString);
  w.message(7, (m) => writeGraph(m, model.graph));
  for (const opset of model.opsetImport) {
    w.message(8, (m) => m.string(1, opset.domain).integer(2, opset.version));
  }
  for (const entry of model.metadataProps) {
    w.message(14, (m) => m.string(1, entry.key).string(2, entry.value));
  }
  return w.finish();
}
