/** The hand-written protobuf codec for the ONNX subset (proto.ts): round trips and wire-format edge cases. */
import { describe, expect, it } from 'vitest';
import { AttrType, DataType, decodeModel, encodeModel, ProtoDecodeError, type ModelProto } from '../../../src-main/onnx/proto';

const MODEL: ModelProto = {
  irVersion: 8,
  opsetImport: [{ domain: '', version: 17 }, { domain: 'com.microsoft', version: 1 }],
  producerName: 'sfumato',
  producerVersion: '0.1.0',
  modelVersion: 3,
  docString: 'ünïcødé ✓',
  graph: {
    name: 'g',
    node: [
      {
        opType: 'Conv',
        name: 'conv',
        input: ['x', 'w', ''],
        output: ['y'],
        attribute: [
          { name: 'pads', type: AttrType.INTS, ints: [1, 1, 1, 1] },
          { name: 'axis', type: AttrType.INT, i: -1 },
          { name: 'big', type: AttrType.INT, i: 2 ** 40 + 3 },
          { name: 'eps', type: AttrType.FLOAT, f: Math.fround(1e-5) },
          { name: 'fs', type: AttrType.FLOATS, floats: [0.5, -2.25] },
          { name: 'mode', type: AttrType.STRING, s: new TextEncoder().encode('nearest') },
          { name: 'negs', type: AttrType.INTS, ints: [-1, 0, 2 ** 31, -(2 ** 33)] },
        ],
      },
    ],
    initializer: [
      { name: 'w', dims: [2, 3], dataType: DataType.FLOAT, rawData: new Uint8Array(new Float32Array([1, 2, 3, 4, 5, 6]).buffer) },
      { name: 'shape', dims: [2], dataType: DataType.INT64, int64Data: [0, -1] },
      { name: 'f', dims: [2], dataType: DataType.FLOAT, floatData: [0.25, 8] },
    ],
    input: [{ name: 'x', type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: [{ dimParam: 'batch' }, { dimValue: 3 }] } } } }],
    output: [{ name: 'y', type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: [{ dimParam: 'batch' }, { dimValue: 2 }] } } } }],
  },
  metadataProps: [{ key: 'a', value: '{"json": true}' }],
};

/** varint of a non-negative integer < 2^53 */
function varint(v: number): number[] {
  const out: number[] = [];
  while (v >= 128) {
    out.push((v % 128) | 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

describe('ONNX protobuf codec', () => {
  it('round-trips every field kind, including negative and large int64 and UTF-8 strings', () => {
    const bytes = encodeModel(MODEL);
    const back = decodeModel(bytes);
    expect(back).toEqual(MODEL);
    // raw data comes back as a view into the input (no copy)
    expect(back.graph!.initializer![0].rawData!.buffer).toBe(bytes.buffer);
  });

  it('writes canonical wire bytes for a small message', () => {
    // ir_version = 8 (field 1, varint), opset_import {version: 17} (field 8, length-delimited)
    expect(Array.from(encodeModel({ irVersion: 8, opsetImport: [{ version: 17 }] }))).toEqual([0x08, 8, 0x42, 2, 0x10, 17]);
    // a negative int64 takes 10 bytes (two's complement)
    const neg = encodeModel({ modelVersion: -1 });
    expect(Array.from(neg)).toEqual([0x28, 255, 255, 255, 255, 255, 255, 255, 255, 255, 1]);
    expect(decodeModel(neg).modelVersion).toBe(-1);
  });

  it('reads repeated scalars unpacked too (onnx.proto is proto2: `ints` and `floats` are unpacked there)', () => {
    // GraphProto{ node: NodeProto{ attribute: AttributeProto{ name "p", ints 1, ints 300 (unpacked), floats 0.5 (unpacked) } } }
    const f32 = Array.from(new Uint8Array(new Float32Array([0.5]).buffer));
    const attr = [0x0a, 1, 0x70, 0x40, 1, 0x40, ...varint(300), 0x3d, ...f32];
    const node = [0x2a, attr.length, ...attr];
    const graph = [0x0a, node.length, ...node];
    const model = new Uint8Array([0x08, 7, 0x3a, graph.length, ...graph]);
    const m = decodeModel(model);
    expect(m.graph!.node![0].attribute![0]).toEqual({ name: 'p', ints: [1, 300], floats: [0.5] });
  });

  it('skips unknown fields of every wire type', () => {
    // field numbers above 15 need two tag bytes: build the tags with varint()
    const bytes: number[] = [];
    for (const [no, wire, body] of [[99, 0, varint(12345)], [98, 1, [1, 2, 3, 4, 5, 6, 7, 8]], [97, 2, [3, 0xaa, 0xbb, 0xcc]], [96, 5, [1, 2, 3, 4]]] as [number, number, number[]][]) {
      bytes.push(...varint(no * 8 + wire), ...body);
    }
    const m = decodeModel(new Uint8Array([...bytes, 0x08, 9]));
    expect(m).toEqual({ irVersion: 9 });
  });

  it('flags truncation and malformed input', () => {
    const bytes = encodeModel(MODEL);
    for (const cut of [1, 5, bytes.length - 1, Math.floor(bytes.length / 2)]) {
      let err: unknown;
      try {
        decodeModel(bytes.subarray(0, cut));
      } catch (e) {
        err = e;
      }
      // a cut can land exactly on a field boundary at the top level; then the rest is simply missing
      if (err !== undefined) {
        expect(err).toBeInstanceOf(ProtoDecodeError);
        expect((err as ProtoDecodeError).truncated).toBe(true);
      }
    }
    expect(() => decodeModel(bytes.subarray(0, bytes.length - 1))).toThrow(ProtoDecodeError);
    // wire type 3 (start group) is not used by ONNX
    expect(() => decodeModel(new Uint8Array([0x0b]))).toThrow(/wire type 3/);
    // a known field with the wrong wire type
    expect(() => decodeModel(new Uint8Array([0x0a, 0]))).toThrow(/ir_version|irVersion/);
    // invalid UTF-8 in a string field
    expect(() => decodeModel(new Uint8Array([0x12, 2, 0xff, 0xfe]))).toThrow(/UTF-8/);
    // field number 0
    expect(() => decodeModel(new Uint8Array([0x00, 0x00]))).toThrow(/field number 0/);
    // an over-long varint
    expect(() => decodeModel(new Uint8Array([0x08, ...new Array(11).fill(0xff), 1]))).toThrow(/varint/);
  });
});
