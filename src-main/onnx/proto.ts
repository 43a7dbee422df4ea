/**
 * A small protobuf codec for the subset of ONNX that Sfumato writes and inspects.
 *
 * Why hand-written: we need ~10 message types, encoding of ~20 MB of initializers without extra
 * copies, and a decoder that can skip (not copy) hundreds of MB of weights when it only inspects a
 * file's signature. A schema table driving one encoder and one decoder stays under 300 lines; the
 * alternatives (protobufjs + a generated onnx.js, onnx-proto) add a dependency and a copy.
 *
 * Field numbers: onnx/onnx.proto3 (ONNX IR). Wire format: protobuf encoding spec — varint (0),
 * 64-bit (1), length-delimited (2), 32-bit (5). Repeated scalars are written packed and read in
 * both packed and unpacked form (onnx.proto is proto2, where `floats`/`ints` are unpacked).
 * int64 values are JavaScript numbers (exact up to 2^53, which covers dims, attributes, versions).
 */
import { DomainError } from '../api/errors';

/** TensorProto.DataType values used here (onnx.proto3). */
export const DataType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, STRING: 8, BOOL: 9, FLOAT16: 10, DOUBLE: 11, BFLOAT16: 16 } as const;
/** Names of TensorProto.DataType values, for messages. */
export const DATA_TYPE_NAMES: Record<number, string> = {
  1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string', 9: 'bool',
  10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64', 16: 'bfloat16',
};
/** AttributeProto.AttributeType values used here. */
export const AttrType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

export interface StringStringEntryProto { key?: string; value?: string }
export interface OperatorSetIdProto { domain?: string; version?: number }
export interface TensorProto {
  dims?: number[];
  dataType?: number;
  floatData?: number[];
  int32Data?: number[];
  int64Data?: number[];
  name?: string;
  docString?: string;
  rawData?: Uint8Array;
  externalData?: StringStringEntryProto[];
  dataLocation?: number;
}
export interface AttributeProto {
  name?: string;
  type?: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: TensorProto;
  g?: GraphProto;
  floats?: number[];
  ints?: number[];
  strings?: Uint8Array[];
}
export interface TensorShapeDim { dimValue?: number; dimParam?: string; denotation?: string }
export interface TypeProto { tensorType?: { elemType?: number; shape?: { dim?: TensorShapeDim[] } }; denotation?: string }
export interface ValueInfoProto { name?: string; type?: TypeProto; docString?: string }
export interface NodeProto {
  input?: string[];
  output?: string[];
  name?: string;
  opType?: string;
  domain?: string;
  attribute?: AttributeProto[];
  docString?: string;
}
export interface GraphProto {
  node?: NodeProto[];
  name?: string;
  initializer?: TensorProto[];
  docString?: string;
  input?: ValueInfoProto[];
  output?: ValueInfoProto[];
  valueInfo?: ValueInfoProto[];
}
export interface ModelProto {
  irVersion?: number;
  opsetImport?: OperatorSetIdProto[];
  producerName?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: number;
  docString?: string;
  graph?: GraphProto;
  metadataProps?: StringStringEntryProto[];
}

type Scalar = 'int64' | 'int32' | 'float' | 'string' | 'bytes';
interface Field { no: number; key: string; type: Scalar | (() => Schema); repeated?: true }
type Schema = Field[];

const f = (no: number, key: string, type: Field['type'], repeated?: true): Field => ({ no, key, type, repeated });
const ENTRY: Schema = [f(1, 'key', 'string'), f(2, 'value', 'string')];
const OPSET: Schema = [f(1, 'domain', 'string'), f(2, 'version', 'int64')];
const TENSOR: Schema = [
  f(1, 'dims', 'int64', true), f(2, 'dataType', 'int32'), f(4, 'floatData', 'float', true), f(5, 'int32Data', 'int32', true),
  f(7, 'int64Data', 'int64', true), f(8, 'name', 'string'), f(12, 'docString', 'string'), f(9, 'rawData', 'bytes'),
  f(13, 'externalData', () => ENTRY, true), f(14, 'dataLocation', 'int32'),
];
const DIM: Schema = [f(1, 'dimValue', 'int64'), f(2, 'dimParam', 'string'), f(3, 'denotation', 'string')];
const SHAPE: Schema = [f(1, 'dim', () => DIM, true)];
const TENSOR_TYPE: Schema = [f(1, 'elemType', 'int32'), f(2, 'shape', () => SHAPE)];
const TYPE: Schema = [f(1, 'tensorType', () => TENSOR_TYPE), f(6, 'denotation', 'string')];
const VALUE_INFO: Schema = [f(1, 'name', 'string'), f(2, 'type', () => TYPE), f(3, 'docString', 'string')];
const ATTRIBUTE: Schema = [
  f(1, 'name', 'string'), f(20, 'type', 'int32'), f(2, 'f', 'float'), f(3, 'i', 'int64'), f(4, 's', 'bytes'),
  f(5, 't', () => TENSOR), f(6, 'g', () => GRAPH), f(7, 'floats', 'float', true), f(8, 'ints', 'int64', true),
  f(9, 'strings', 'bytes', true),
];
const NODE: Schema = [
  f(1, 'input', 'string', true), f(2, 'output', 'string', true), f(3, 'name', 'string'), f(4, 'opType', 'string'),
  f(7, 'domain', 'string'), f(5, 'attribute', () => ATTRIBUTE, true), f(6, 'docString', 'string'),
];
const GRAPH: Schema = [
  f(1, 'node', () => NODE, true), f(2, 'name', 'string'), f(5, 'initializer', () => TENSOR, true), f(10, 'docString', 'string'),
  f(11, 'input', () => VALUE_INFO, true), f(12, 'output', () => VALUE_INFO, true), f(13, 'valueInfo', () => VALUE_INFO, true),
];
const MODEL: Schema = [
  f(1, 'irVersion', 'int64'), f(8, 'opsetImport', () => OPSET, true), f(2, 'producerName', 'string'),
  f(3, 'producerVersion', 'string'), f(4, 'domain', 'string'), f(5, 'modelVersion', 'int64'), f(6, 'docString', 'string'),
  f(7, 'graph', () => GRAPH), f(14, 'metadataProps', () => ENTRY, true),
];

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });
const WIRE: Record<Scalar, number> = { int64: 0, int32: 0, float: 5, string: 2, bytes: 2 };

// ---------------------------------------------------------------- encoding

function varintSize(v: number): number {
  if (v < 0) return 10; // negative int64: two's complement, always 10 bytes
  let n = 1;
  while (v >= 128) { v = Math.floor(v / 128); n++; }
  return n;
}

class Sink {
  pos = 0;
  readonly dv: DataView;
  constructor(readonly buf: Uint8Array) { this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength); }
  varint(v: number): void {
    if (v < 0 || v > Number.MAX_SAFE_INTEGER) {
      let b = BigInt.asUintN(64, BigInt(v));
      while (b >= 128n) { this.buf[this.pos++] = Number(b & 127n) | 128; b >>= 7n; }
      this.buf[this.pos++] = Number(b);
      return;
    }
    while (v >= 128) { this.buf[this.pos++] = (v % 128) | 128; v = Math.floor(v / 128); }
    this.buf[this.pos++] = v;
  }
  bytes(b: Uint8Array): void { this.buf.set(b, this.pos); this.pos += b.length; }
}

/** Encoded size of each message object, memoised for one encode call (lengths are written before bodies). */
type Sizes = Map<object, number>;

function scalarBody(type: Scalar, v: unknown): number {
  if (type === 'float') return 4;
  if (type === 'string') return utf8.encode(v as string).length; // strings are short (names, JSON)
  if (type === 'bytes') return (v as Uint8Array).length;
  return varintSize(v as number);
}

function messageSize(obj: Record<string, unknown>, schema: Schema, sizes: Sizes): number {
  let n = 0;
  for (const fd of schema) {
    const v = obj[fd.key];
    if (v === undefined || v === null) continue;
    const tag = varintSize(fd.no * 8);
    const sub = typeof fd.type === 'function' ? fd.type() : undefined;
    if (fd.repeated && (v as unknown[]).length === 0) continue;
    if (fd.repeated && !sub && (fd.type === 'int64' || fd.type === 'int32' || fd.type === 'float')) {
      let body = 0;
      for (const x of v as number[]) body += scalarBody(fd.type, x);
      n += tag + varintSize(body) + body; // packed
      continue;
    }
    for (const x of fd.repeated ? (v as unknown[]) : [v]) {
      const body = sub ? sizeOf(x as Record<string, unknown>, sub, sizes) : scalarBody(fd.type as Scalar, x);
      n += tag + body + (sub || WIRE[fd.type as Scalar] === 2 ? varintSize(body) : 0);
    }
  }
  return n;
}

function sizeOf(obj: Record<string, unknown>, schema: Schema, sizes: Sizes): number {
  let n = sizes.get(obj);
  if (n === undefined) { n = messageSize(obj, schema, sizes); sizes.set(obj, n); }
  return n;
}

function writeScalar(s: Sink, type: Scalar, v: unknown): void {
  if (type === 'float') { s.dv.setFloat32(s.pos, v as number, true); s.pos += 4; }
  else if (type === 'string') { const b = utf8.encode(v as string); s.varint(b.length); s.bytes(b); }
  else if (type === 'bytes') { s.varint((v as Uint8Array).length); s.bytes(v as Uint8Array); }
  else s.varint(v as number);
}

function writeMessage(s: Sink, obj: Record<string, unknown>, schema: Schema, sizes: Sizes): void {
  for (const fd of schema) {
    const v = obj[fd.key];
    if (v === undefined || v === null) continue;
    if (fd.repeated && (v as unknown[]).length === 0) continue;
    const sub = typeof fd.type === 'function' ? fd.type() : undefined;
    if (fd.repeated && !sub && (fd.type === 'int64' || fd.type === 'int32' || fd.type === 'float')) {
      s.varint(fd.no * 8 + 2);
      let body = 0;
      for (const x of v as number[]) body += scalarBody(fd.type, x);
      s.varint(body);
      for (const x of v as number[]) writeScalar(s, fd.type, x);
      continue;
    }
    for (const x of fd.repeated ? (v as unknown[]) : [v]) {
      if (sub) {
        s.varint(fd.no * 8 + 2);
        s.varint(sizeOf(x as Record<string, unknown>, sub, sizes));
        writeMessage(s, x as Record<string, unknown>, sub, sizes);
      } else {
        s.varint(fd.no * 8 + WIRE[fd.type as Scalar]);
        writeScalar(s, fd.type as Scalar, x);
      }
    }
  }
}

/** Serialises a ModelProto; large `rawData` arrays are copied exactly once, into the result. */
export function encodeModel(model: ModelProto): Uint8Array {
  const sizes: Sizes = new Map();
  const obj = model as Record<string, unknown>;
  const out = new Uint8Array(sizeOf(obj, MODEL, sizes));
  const s = new Sink(out);
  writeMessage(s, obj, MODEL, sizes);
  if (s.pos !== out.length) throw new Error(`encodeModel: wrote ${s.pos} bytes, sized ${out.length} (internal error)`);
  return out;
}

// ---------------------------------------------------------------- decoding

/** Bytes that are not a well-formed protobuf message of the expected schema. */
export class ProtoDecodeError extends DomainError {
  /** a file given as ONNX that is not well-formed */
  readonly apiCode = 'bad_request';
  constructor(readonly truncated: boolean, message: string) {
    super(message);
    this.name = 'ProtoDecodeError';
  }
}

class Source {
  pos: number;
  constructor(readonly buf: Uint8Array, start: number, readonly end: number) { this.pos = start; }
  need(n: number, what: string): void {
    if (this.pos + n > this.end) {
      throw new ProtoDecodeError(this.end === this.buf.length, `${what} at byte ${this.pos} needs ${n} bytes, only ${this.end - this.pos} remain`);
    }
  }
  varint(): number {
    let lo = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      this.need(1, 'varint');
      const b = this.buf[this.pos++];
      lo += (b & 127) * 2 ** shift;
      if (b < 128) return lo;
    }
    let big = BigInt(lo);
    for (let shift = 28n; shift < 70n; shift += 7n) {
      this.need(1, 'varint');
      const b = this.buf[this.pos++];
      big |= BigInt(b & 127) << shift;
      if (b < 128) return Number(BigInt.asIntN(64, big));
    }
    throw new ProtoDecodeError(false, `varint longer than 10 bytes at byte ${this.pos}`);
  }
  view(): Uint8Array {
    const len = this.varint();
    this.need(len, 'length-delimited field');
    const v = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return v;
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) { this.need(8, 'fixed64'); this.pos += 8; }
    else if (wire === 2) this.view();
    else if (wire === 5) { this.need(4, 'fixed32'); this.pos += 4; }
    else throw new ProtoDecodeError(false, `unsupported wire type ${wire} at byte ${this.pos}`);
  }
}

function readScalar(src: Source, type: Scalar): unknown {
  if (type === 'float') {
    src.need(4, 'float');
    const v = new DataView(src.buf.buffer, src.buf.byteOffset + src.pos, 4).getFloat32(0, true);
    src.pos += 4;
    return v;
  }
  if (type === 'bytes') return src.view();
  if (type === 'string') {
    const at = src.pos;
    try {
      return utf8Strict.decode(src.view());
    } catch (e) {
      if (e instanceof ProtoDecodeError) throw e;
      throw new ProtoDecodeError(false, `invalid UTF-8 string at byte ${at}`);
    }
  }
  return src.varint();
}

function readMessage(src: Source, schema: Schema, depth: number): Record<string, unknown> {
  if (depth > 64) throw new ProtoDecodeError(false, 'messages nested deeper than 64 levels');
  const out: Record<string, unknown> = {};
  const byNo = new Map(schema.map((fd) => [fd.no, fd]));
  while (src.pos < src.end) {
    const tagAt = src.pos;
    const tag = src.varint();
    const no = Math.floor(tag / 8);
    const wire = tag % 8;
    if (no === 0) throw new ProtoDecodeError(false, `field number 0 at byte ${tagAt}`);
    const fd = byNo.get(no);
    if (!fd) { src.skip(wire); continue; }
    const sub = typeof fd.type === 'function' ? fd.type() : undefined;
    const packable = !sub && (fd.type === 'int64' || fd.type === 'int32' || fd.type === 'float');
    let values: unknown[];
    if (fd.repeated && packable && wire === 2) {
      const body = src.view();
      const inner = new Source(src.buf, body.byteOffset - src.buf.byteOffset, body.byteOffset - src.buf.byteOffset + body.length);
      values = [];
      while (inner.pos < inner.end) values.push(readScalar(inner, fd.type as Scalar));
    } else {
      const expected = sub ? 2 : WIRE[fd.type as Scalar];
      if (wire !== expected) throw new ProtoDecodeError(false, `field ${no} (${fd.key}) at byte ${tagAt} has wire type ${wire}, expected ${expected}`);
      if (sub) {
        const body = src.view();
        const start = body.byteOffset - src.buf.byteOffset;
        values = [readMessage(new Source(src.buf, start, start + body.length), sub, depth + 1)];
      } else values = [readScalar(src, fd.type as Scalar)];
    }
    if (fd.repeated) ((out[fd.key] ??= []) as unknown[]).push(...values);
    else out[fd.key] = values[values.length - 1];
  }
  return out;
}

/**
 * Parses a serialised ModelProto. `rawData` fields are views into `bytes` (no copy). Throws
 * ProtoDecodeError (with `truncated` set when the data ends inside a field) on malformed input.
 */
export function decodeModel(bytes: Uint8Array): ModelProto {
  return readMessage(new Source(bytes, 0, bytes.length), MODEL, 0) as ModelProto;
}
