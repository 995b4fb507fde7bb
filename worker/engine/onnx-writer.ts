/**
 * A minimal ONNX (protobuf) writer: just the messages needed to build inference graphs in TypeScript
 * (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto with raw or external data, ValueInfoProto).
 * Field numbers follow onnx/onnx.proto3.
 */

export const DataType = { FLOAT: 1, INT32: 6, INT64: 7, BOOL: 9, FLOAT16: 10 } as const;
export type DataTypeId = (typeof DataType)[keyof typeof DataType];

/** A dimension: a fixed size or a symbolic name ("batch_size"). */
export type Dim = number | string;

export interface ValueInfo {
  name: string;
  type: DataTypeId;
  shape: Dim[];
}

export type AttributeValue = number | string | number[] | { int: number } | { floats: number[] } | { tensor: TensorSpec };

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  domain?: string;
  attributes?: Record<string, AttributeValue>;
}

export interface TensorSpec {
  name: string;
  type: DataTypeId;
  dims: number[];
  /** Little-endian element bytes kept inside the model file. */
  raw?: Uint8Array;
  /** Bytes kept in a side file next to the model (ONNX external data). */
  external?: { location: string; offset: number; length: number };
}

export interface GraphSpec {
  name: string;
  nodes: NodeSpec[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  initializers: TensorSpec[];
}

/** Serialises a model (IR version 8) with the default-domain opset given, plus com.microsoft when used. */
export function encodeModel(graph: GraphSpec, opset = 17, producer = "triad"): Uint8Array {
  const w = new ProtoWriter();
  w.varintField(1, 8); // ir_version
  w.stringField(2, producer);
  w.messageField(7, encodeGraph(graph));
  w.messageField(8, new ProtoWriter().stringField(1, "").varintField(2, opset).finish());
  if (graph.nodes.some((n) => n.domain === "com.microsoft")) {
    w.messageField(8, new ProtoWriter().stringField(1, "com.microsoft").varintField(2, 1).finish());
  }
  return w.finish();
}

function encodeGraph(graph: GraphSpec): Uint8Array {
  const w = new ProtoWriter();
  for (const node of graph.nodes) w.messageField(1, encodeNode(node));
  w.stringField(2, graph.name);
  for (const tensor of graph.initializers) w.messageField(5, encodeTensor(tensor));
  for (const input of graph.inputs) w.messageField(11, encodeValueInfo(input));
  for (const output of graph.outputs) w.messageField(12, encodeValueInfo(output));
  return w.finish();
}

function encodeNode(node: NodeSpec): Uint8Array {
  const w = new ProtoWriter();
  for (const input of node.inputs) w.stringField(1, input);
  for (const output of node.outputs) w.stringField(2, output);
  if (node.name) w.stringField(3, node.name);
  w.stringField(4, node.op);
  for (const [name, value] of Object.entries(node.attributes ?? {})) w.messageField(5, encodeAttribute(name, value));
  if (node.domain) w.stringField(7, node.domain);
  return w.finish();
}

const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

/** A plain number is a FLOAT attribute unless wrapped as { int }; arrays are INTS. */
function encodeAttribute(name: string, value: AttributeValue): Uint8Array {
  const w = new ProtoWriter().stringField(1, name);
  if (typeof value === "number") w.float32Field(2, value).varintField(20, AttributeType.FLOAT);
  else if (typeof value === "string") w.bytesField(4, utf8(value)).varintField(20, AttributeType.STRING);
  else if (Array.isArray(value)) {
    for (const v of value) w.varintField(8, v);
    w.varintField(20, AttributeType.INTS);
  } else if ("int" in value) w.varintField(3, value.int).varintField(20, AttributeType.INT);
  else if ("floats" in value) {
    for (const v of value.floats) w.float32Field(7, v);
    w.varintField(20, AttributeType.FLOATS);
  } else w.messageField(5, encodeTensor(value.tensor)).varintField(20, AttributeType.TENSOR);
  return w.finish();
}

function encodeTensor(tensor: TensorSpec): Uint8Array {
  const w = new ProtoWriter();
  for (const dim of tensor.dims) w.varintField(1, dim);
  w.varintField(2, tensor.type);
  w.stringField(8, tensor.name);
  if (tensor.raw) w.bytesField(9, tensor.raw);
  if (tensor.external) {
    const entries: [string, string][] = [
      ["location", tensor.external.location],
      ["offset", String(tensor.external.offset)],
      ["length", String(tensor.external.length)],
    ];
    for (const [key, value] of entries) w.messageField(13, new ProtoWriter().stringField(1, key).stringField(2, value).finish());
    w.varintField(14, 1); // data_location = EXTERNAL
  }
  return w.finish();
}

function encodeValueInfo(info: ValueInfo): Uint8Array {
  const shape = new ProtoWriter();
  for (const dim of info.shape) {
    const d = new ProtoWriter();
    if (typeof dim === "number") d.varintField(1, dim);
    else d.stringField(2, dim);
    shape.messageField(1, d.finish());
  }
  const tensorType = new ProtoWriter().varintField(1, info.type).messageField(2, shape.finish()).finish();
  const type = new ProtoWriter().messageField(1, tensorType).finish();
  return new ProtoWriter().stringField(1, info.name).messageField(2, type).finish();
}

const encoder = new TextEncoder();
function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Protobuf wire format: varints (non-negative or negative int64), length-delimited fields, fixed32 floats. */
class ProtoWriter {
  private readonly chunks: Uint8Array[] = [];
  private scratch: number[] = [];

  varintField(field: number, value: number): this {
    this.tag(field, 0);
    this.varint(BigInt(value));
    return this;
  }

  float32Field(field: number, value: number): this {
    this.tag(field, 5);
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setFloat32(0, value, true);
    this.flushScratch();
    this.chunks.push(bytes);
    return this;
  }

  stringField(field: number, value: string): this {
    return this.bytesField(field, utf8(value));
  }

  bytesField(field: number, bytes: Uint8Array): this {
    this.tag(field, 2);
    this.varint(BigInt(bytes.length));
    this.flushScratch();
    this.chunks.push(bytes);
    return this;
  }

  messageField(field: number, message: Uint8Array): this {
    return this.bytesField(field, message);
  }

  finish(): Uint8Array {
    this.flushScratch();
    const total = this.chunks.reduce((sum, c) => sum + c.length, 0);
    const out = new Uint8Array(total);
    let offset = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }

  private tag(field: number, wireType: number): void {
    this.varint(BigInt((field << 3) | wireType));
  }

  private varint(value: bigint): void {
    let v = BigInt.asUintN(64, value); // negative int64 as ten-byte two's complement
    while (v >= 0x80n) {
      this.scratch.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.scratch.push(Number(v));
  }

  private flushScratch(): void {
    if (this.scratch.length > 0) {
      this.chunks.push(Uint8Array.from(this.scratch));
      this.scratch = [];
    }
  }
}
