/**
 * A tiny ONNX graph builder: nodes in topological order (the order they are added), initializers,
 * unique value names. Knows nothing about UNets (export.ts does).
 */
import { AttrType, DataType, type AttributeProto, type GraphProto, type NodeProto, type TensorProto, type ValueInfoProto } from './proto';

/** Attribute values: an integer -> INT, number[] -> INTS, string -> STRING, {float} / {floats} for floats. */
export type Attr = number | number[] | string | { float: number } | { floats: number[] };

export function float(v: number): { float: number } {
  return { float: v };
}

function attribute(name: string, v: Attr): AttributeProto {
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error(`attribute ${name}: ${v} is not an integer; wrap floats in float()`);
    return { name, type: AttrType.INT, i: v };
  }
  if (typeof v === 'string') return { name, type: AttrType.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: AttrType.INTS, ints: v };
  if ('float' in v) return { name, type: AttrType.FLOAT, f: v.float };
  return { name, type: AttrType.FLOATS, floats: v.floats };
}

const isLittleEndianHost = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Little-endian bytes of a typed array (a view on little-endian hosts). */
export function leBytes(data: Float32Array | BigInt64Array): Uint8Array {
  if (isLittleEndianHost) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.byteLength);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) {
    if (data instanceof Float32Array) dv.setFloat32(4 * i, data[i], true);
    else dv.setBigInt64(8 * i, data[i], true);
  }
  return out;
}

/** A tensor-typed value: elem type and dims (a string dim is symbolic, e.g. 'batch'). */
export function valueInfo(name: string, elemType: number, dims: (number | string)[]): ValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  };
}

export class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private readonly names = new Set<string>();
  private readonly constCache = new Map<string, string>();
  private counter = 0;

  /** A fresh value name starting with `hint`. */
  fresh(hint: string): string {
    let name = hint;
    while (this.names.has(name)) name = `${hint}_${++this.counter}`;
    this.names.add(name);
    return name;
  }

  /** A float32 initializer with an exact name (e.g. a PyTorch state_dict key). */
  floatInit(name: string, dims: number[], data: Float32Array): string {
    if (this.names.has(name)) throw new Error(`GraphBuilder: duplicate value name ${name}`);
    const n = dims.reduce((a, b) => a * b, 1);
    if (n !== data.length) throw new Error(`GraphBuilder: ${name} has dims [${dims.join(', ')}] but ${data.length} values`);
    this.names.add(name);
    this.initializers.push({ name, dims, dataType: DataType.FLOAT, rawData: leBytes(data) });
    return name;
  }

  /** A shared constant initializer (deduplicated by value): int64 or float32. */
  constant(kind: 'int64' | 'float', values: readonly number[], dims: number[] = [values.length]): string {
    const key = `${kind}:${dims.join('x')}:${values.join(',')}`;
    const hit = this.constCache.get(key);
    if (hit) return hit;
    const name = this.fresh(`const_${kind}_${values.length <= 4 ? values.join('_').replace(/[^0-9a-z_]/gi, 'm') : this.constCache.size}`);
    const data = kind === 'int64' ? new BigInt64Array(values.map((v) => BigInt(v))) : Float32Array.from(values);
    this.initializers.push({ name, dims, dataType: kind === 'int64' ? DataType.INT64 : DataType.FLOAT, rawData: leBytes(data) });
    this.constCache.set(key, name);
    return name;
  }

  /** Adds a node with `outputs` results (names derived from `name`); returns their names. */
  opN(opType: string, inputs: string[], outputs: number, attrs: Record<string, Attr> = {}, name = opType): string[] {
    const outs = Array.from({ length: outputs }, (_, i) => this.fresh(outputs === 1 ? name : `${name}_${i}`));
    this.nodes.push({
      opType,
      name: this.fresh(`${name}/node`),
      input: inputs,
      output: outs,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outs;
  }

  /** Adds a single-output node; returns the output name. */
  op(opType: string, inputs: string[], attrs: Record<string, Attr> = {}, name = opType): string {
    return this.opN(opType, inputs, 1, attrs, name)[0];
  }

  graph(name: string, inputs: ValueInfoProto[], outputs: ValueInfoProto[], docString?: string): GraphProto {
    return { name, node: this.nodes, initializer: this.initializers, input: inputs, output: outputs, docString };
  }
}
