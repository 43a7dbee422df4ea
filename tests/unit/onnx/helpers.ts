/** Shared helpers of the ONNX tests: seeded weights, tfjs reference forward, tiny ONNX graphs. */
import * as tf from '@tensorflow/tfjs';
import type { UNetConfig } from '../../../src-main/network/config';
import { UNet } from '../../../src-main/network/unet';
import { normals } from '../../../src-main/diffusion/rng';
import { GraphBuilder, valueInfo } from '../../../src-main/onnx/graph';
import { DataType, encodeModel, type ModelProto, type ValueInfoProto } from '../../../src-main/onnx/proto';

export const TINY: UNetConfig = {
  imageSize: 16,
  inChannels: 3,
  baseChannels: 8,
  channelMults: [1, 2],
  resBlocks: 1,
  attentionResolutions: [8],
  groups: 4,
  dropout: 0,
  timeInput: 'discrete',
};

/**
 * A UNet with every parameter random (seeded): the PyTorch-default init of the constructor for
 * convs/linears, and GroupNorm gamma ~ 1 + 0.3 N(0,1), beta ~ 0.2 N(0,1) (the constructor's 1 / 0
 * would leave the norm affine untested).
 */
export function randomUNet(config: UNetConfig, seed: number): UNet {
  const m = new UNet(config, { seed, trainable: false });
  m.namedVariables().forEach(({ name, variable }, i) => {
    if (!/\.(n|n1|n2|nout)\.(weight|bias)$/.test(name) && !name.startsWith('nout.')) return;
    const z = normals(seed + 1000, i, variable.size);
    const v = name.endsWith('weight') ? z.map((a) => 1 + 0.3 * a) : z.map((a) => 0.2 * a);
    tf.tidy(() => variable.assign(tf.tensor(v, variable.shape, 'float32')));
  });
  return m;
}

/** tfjs forward over NCHW arrays with a per-image t (the reference for parity). */
export async function tfjsForward(model: UNet, x: Float32Array, shape: number[], t: Float32Array): Promise<Float32Array> {
  const [B, C, H, W] = shape;
  const out = tf.tidy(() => {
    const xt = tf.transpose(tf.tensor4d(x, [B, C, H, W]), [0, 2, 3, 1]) as tf.Tensor4D;
    return tf.transpose(model.apply(xt, tf.tensor1d(t, 'float32')), [0, 3, 1, 2]);
  });
  try {
    return (await out.data()) as Float32Array;
  } finally {
    out.dispose();
  }
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export interface ToyUNetSpec {
  sampleDims?: (number | string)[];
  sampleType?: number;
  timestepType?: number;
  /** undefined -> no timestep input */
  timestepDims?: (number | string)[] | null;
  outputName?: string;
  extraOutputs?: number;
  extraInputs?: ValueInfoProto[];
  irVersion?: number;
  opset?: number;
  producer?: string;
}

/**
 * A small runnable ONNX "UNet" with a chosen signature: out = sample * (1 + 0.001 * t) (t cast to
 * float and broadcast per image), so an adapter's timestep handling shows in its output.
 * Defaults mimic diffusers' UNet2DModel exported by optimum: sample float32 [batch, 3, 8, 8],
 * timestep int64 scalar, output out_sample.
 */
export function toyUNetModel(spec: ToyUNetSpec = {}): ModelProto {
  const g = new GraphBuilder();
  const sampleDims = spec.sampleDims ?? ['batch', 3, 8, 8];
  const tDims = spec.timestepDims === undefined ? [] : spec.timestepDims;
  const sample = g.fresh('sample');
  const inputs = [valueInfo(sample, spec.sampleType ?? DataType.FLOAT, sampleDims)];
  let factor: string;
  if (tDims !== null) {
    const t = g.fresh('timestep');
    inputs.push(valueInfo(t, spec.timestepType ?? DataType.INT64, tDims));
    const tf32 = g.op('Cast', [t], { to: DataType.FLOAT }, 't_float');
    const scaled = g.op('Add', [g.op('Mul', [tf32, g.constant('float', [0.001], [])]), g.constant('float', [1], [])]);
    factor = tDims.length === 1 ? g.op('Reshape', [scaled, g.constant('int64', [-1, 1, 1, 1])]) : scaled;
  } else factor = g.constant('float', [2], []);
  inputs.push(...(spec.extraInputs ?? []));
  const outName = spec.outputName ?? 'out_sample';
  const out = g.op('Mul', [sample, factor], {}, outName);
  const outputs = [valueInfo(out, DataType.FLOAT, spec.sampleDims ?? ['batch', 3, 8, 8])];
  for (let i = 0; i < (spec.extraOutputs ?? 0); i++) outputs.push(valueInfo(g.op('Identity', [out], {}, `extra${i}`), DataType.FLOAT, sampleDims));
  return {
    irVersion: spec.irVersion ?? 8,
    opsetImport: [{ domain: '', version: spec.opset ?? 17 }],
    producerName: spec.producer ?? 'pytorch',
    producerVersion: '2.1.0',
    graph: g.graph('toy_unet', inputs, outputs),
  };
}

export function toyUNetBytes(spec: ToyUNetSpec = {}): Uint8Array {
  return encodeModel(toyUNetModel(spec));
}
