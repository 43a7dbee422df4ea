/**
 * Import validation of external ONNX UNets (inspect.ts), with files built at test time that mimic
 * a diffusers UNet2DModel export (optimum: int64 scalar timestep) and a torch.onnx export (float
 * [B] timestep), plus broken ones. Accepted files must also sample through ortNetwork.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataType, encodeModel } from '../../../src-main/onnx/proto';
import { valueInfo } from '../../../src-main/onnx/graph';
import { inspectOnnxUNet, OnnxModelError, type OnnxModelErrorCode } from '../../../src-main/onnx/inspect';
import { exportUNetToOnnx } from '../../../src-main/onnx/export';
import { createOrtSession, ortNetwork, type OrtSession } from '../../../src-main/onnx/session';
import { batchNoise, ddim, epsDenoiserDiscrete, makeDiscreteSchedule } from '../../../src-main/diffusion/index';
import { randomUNet, TINY, toyUNetBytes, toyUNetModel } from './helpers';

const quiet = { log: () => {}, intraOpThreads: 1, provider: 'cpu' as const };
const sessions: OrtSession[] = [];
beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(async () => {
  for (const s of sessions) await s.dispose();
});

function codeOf(bytes: Uint8Array): OnnxModelErrorCode {
  try {
    inspectOnnxUNet(bytes);
  } catch (e) {
    expect(e).toBeInstanceOf(OnnxModelError);
    const err = e as OnnxModelError;
    expect(JSON.parse(JSON.stringify(err))).toEqual({ code: err.code, message: err.message });
    return err.code;
  }
  throw new Error('the model was accepted');
}

function messageOf(bytes: Uint8Array): string {
  try {
    inspectOnnxUNet(bytes);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('the model was accepted');
}

describe('inspectOnnxUNet: accepted signatures', () => {
  it('diffusers UNet2DModel via optimum: int64 scalar timestep, symbolic batch', () => {
    const sig = inspectOnnxUNet(toyUNetBytes());
    expect(sig).toMatchObject({
      sample: { name: 'sample', dims: ['batch', 3, 8, 8] },
      timestep: { name: 'timestep', dtype: 'int64', rank: 0, dims: [] },
      output: { name: 'out_sample', dims: ['batch', 3, 8, 8] },
      channels: 3,
      height: 8,
      width: 8,
      batch: undefined,
      opset: 17,
      irVersion: 8,
      producer: 'pytorch 2.1.0',
      metadata: {},
    });
    expect(sig.sfumato).toBeUndefined();
  });

  it('torch.onnx export: float [B] timestep, fixed batch, output named by torch', () => {
    const sig = inspectOnnxUNet(toyUNetBytes({ sampleDims: [2, 1, 16, 16], timestepType: DataType.FLOAT, timestepDims: [2], outputName: '1234', opset: 14 }));
    expect(sig.timestep).toEqual({ name: 'timestep', dtype: 'float32', rank: 1, dims: [2] });
    expect(sig).toMatchObject({ channels: 1, batch: 2, height: 16, width: 16, opset: 14, output: { name: '1234', dims: [2, 1, 16, 16] } });
  });

  it('dynamic H and W, [1] timestep, IR 3 style initializers listed as inputs', () => {
    const model = toyUNetModel({ sampleDims: ['batch', 4, 'height', 'width'], timestepType: DataType.FLOAT, timestepDims: [1] });
    // old exporters list every initializer among the graph inputs too
    const g = model.graph!;
    g.input!.push(...g.initializer!.map((t) => valueInfo(t.name!, t.dataType!, t.dims!)));
    const sig = inspectOnnxUNet(encodeModel(model));
    expect(sig.height).toBeUndefined();
    expect(sig.channels).toBe(4);
    expect(sig.timestep.dims).toEqual([1]);
  });

  it('our own export: the Sfumato metadata is read back', () => {
    const m = randomUNet(TINY, 1);
    try {
      const schedule = { kind: 'discrete', beta: 'cosine', trainSteps: 1000 };
      const sig = inspectOnnxUNet(exportUNetToOnnx(m, { prediction: 'v', schedule, appVersion: '9.9.9' }));
      expect(sig.sfumato).toEqual({ formatVersion: 1, prediction: 'v', schedule, imageSize: 16, channels: 3, timeInput: 'discrete', appVersion: '9.9.9', config: TINY });
      expect(sig).toMatchObject({ channels: 3, height: 16, width: 16, batch: undefined, timestep: { dtype: 'float32', rank: 1, dims: ['batch'] }, producer: 'sfumato 9.9.9' });
      expect(sig.initializerCount).toBeGreaterThan(50);
    } finally {
      m.dispose();
    }
  });
});

describe('inspectOnnxUNet: rejected files say what was expected and what was found', () => {
  const good = toyUNetBytes();

  it('empty, truncated and non-ONNX files', () => {
    expect(codeOf(new Uint8Array())).toBe('ONNX_EMPTY');
    expect(codeOf(good.subarray(0, good.length - 3))).toBe('ONNX_TRUNCATED');
    expect(codeOf(good.subarray(0, Math.floor(good.length / 2)))).toBe('ONNX_TRUNCATED');
    expect(messageOf(good.subarray(0, 40))).toMatch(/truncated/);
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
    expect(codeOf(png)).toBe('ONNX_NOT_ONNX');
    expect(codeOf(new TextEncoder().encode('{"model": "not onnx", "layers": [1, 2, 3]}'))).toBe('ONNX_NOT_ONNX');
    expect(messageOf(new TextEncoder().encode('hello'))).toMatch(/not an ONNX model/);
    // a valid protobuf that is not a model
    expect(codeOf(encodeModel({ producerName: 'x' }))).toBe('ONNX_NOT_ONNX');
  });

  it('wrong input rank', () => {
    const bytes = toyUNetBytes({ sampleDims: ['batch', 3, 64] });
    expect(codeOf(bytes)).toBe('ONNX_SAMPLE');
    expect(messageOf(bytes)).toBe('input sample must be 4-D [B, C, H, W]; found rank 3 [batch, 3, 64]');
  });

  it('missing timestep, renamed inputs, extra (conditioning) inputs', () => {
    expect(codeOf(toyUNetBytes({ timestepDims: null }))).toBe('ONNX_INPUTS');
    expect(messageOf(toyUNetBytes({ timestepDims: null }))).toMatch(/expected inputs sample \[B, C, H, W\] float32 and timestep .*; found inputs sample — missing timestep/);
    const extra = toyUNetBytes({ extraInputs: [valueInfo('encoder_hidden_states', DataType.FLOAT, ['batch', 77, 768])] });
    expect(messageOf(extra)).toMatch(/unexpected encoder_hidden_states/);
  });

  it('extra outputs, and an output of another shape', () => {
    expect(codeOf(toyUNetBytes({ extraOutputs: 1 }))).toBe('ONNX_OUTPUTS');
    expect(messageOf(toyUNetBytes({ extraOutputs: 2 }))).toMatch(/exactly one output of the sample's shape \[batch, 3, 8, 8\]; found 3 outputs \(out_sample, extra0, extra1\)/);
    const model = toyUNetModel();
    model.graph!.output![0].type!.tensorType!.shape!.dim![1] = { dimValue: 6 };
    expect(messageOf(encodeModel(model))).toMatch(/output out_sample must have the sample's shape \[batch, 3, 8, 8\]; found \[batch, 6, 8, 8\]/);
  });

  it('unsupported types and timestep shapes', () => {
    expect(messageOf(toyUNetBytes({ sampleType: DataType.FLOAT16 }))).toMatch(/sample must be float32; found float16/);
    expect(messageOf(toyUNetBytes({ timestepType: DataType.BOOL }))).toMatch(/timestep must be int64 or float .*found bool/);
    expect(codeOf(toyUNetBytes({ timestepDims: ['batch', 1] }))).toBe('ONNX_TIMESTEP');
    expect(messageOf(toyUNetBytes({ sampleDims: [2, 3, 8, 8], timestepDims: [3] }))).toMatch(/\[B\] with B the sample's batch \(2\) or \[1\]; found \[3\]/);
    expect(codeOf(toyUNetBytes({ sampleDims: ['batch', 'channels', 8, 8] }))).toBe('ONNX_SAMPLE');
  });

  it('weights in external data files', () => {
    const model = toyUNetModel();
    model.graph!.initializer!.push({ name: 'w_ext', dims: [4], dataType: DataType.FLOAT, dataLocation: 1, externalData: [{ key: 'location', value: 'weights.bin' }] });
    expect(codeOf(encodeModel(model))).toBe('ONNX_EXTERNAL_DATA');
  });
});

describe('imported models sample through ortNetwork', () => {
  it('int64 scalar and float [B] timesteps reach the model (out = sample * (1 + 0.001 t))', async () => {
    for (const spec of [{}, { timestepType: DataType.FLOAT, timestepDims: ['batch'] }, { timestepType: DataType.FLOAT, timestepDims: [1] }]) {
      const bytes = toyUNetBytes(spec);
      inspectOnnxUNet(bytes);
      const s = await createOrtSession(bytes, quiet);
      sessions.push(s);
      const net = ortNetwork(s);
      const x = Float32Array.from({ length: 2 * 3 * 64 }, (_, i) => (i % 7) - 3);
      const out = await net(x, [2, 3, 8, 8], 250.4);
      const tUsed = spec === undefined || !('timestepType' in spec) ? 250 : 250.4; // int64 rounds to the nearest step
      x.forEach((v, i) => expect(out[i]).toBeCloseTo(v * (1 + 0.001 * tUsed), 5));
    }
  });

  it('a fixed-batch model runs a larger batch in chunks (last chunk padded)', async () => {
    const s = await createOrtSession(toyUNetBytes({ sampleDims: [2, 3, 8, 8], timestepType: DataType.FLOAT, timestepDims: [2] }), quiet);
    sessions.push(s);
    const x = Float32Array.from({ length: 5 * 3 * 64 }, (_, i) => Math.sin(i));
    const out = await ortNetwork(s)(x, [5, 3, 8, 8], 1000);
    expect(out.length).toBe(x.length);
    x.forEach((v, i) => expect(out[i]).toBeCloseTo(2 * v, 5));
  });

  it('an exported model re-imported through the import path samples identically', async () => {
    const m = randomUNet(TINY, 7);
    try {
      const schedule = makeDiscreteSchedule({ kind: 'discrete', beta: 'linear', trainSteps: 1000 });
      const bytes = exportUNetToOnnx(m, { prediction: 'eps', schedule: schedule.config, appVersion: 't' });
      // the import path: copy the file's bytes, inspect, read prediction and schedule from it
      const imported = Uint8Array.from(bytes);
      const sig = inspectOnnxUNet(imported);
      expect(sig.sfumato?.prediction).toBe('eps');
      const sampleWith = async (model: Uint8Array, schedCfg: unknown) => {
        const s = await createOrtSession(model, { ...quiet, reuse: false });
        sessions.push(s);
        const sched = makeDiscreteSchedule(schedCfg as Parameters<typeof makeDiscreteSchedule>[0]);
        const noise = batchNoise([1, 2], 3 * 16 * 16);
        return ddim(epsDenoiserDiscrete(ortNetwork(s), sched), noise.initial(), [2, 3, 16, 16], { schedule: sched, steps: 4, eta: 0, noise });
      };
      const a = await sampleWith(bytes, schedule.config);
      const b = await sampleWith(imported, sig.sfumato?.schedule);
      expect(Array.from(b)).toEqual(Array.from(a));
    } finally {
      m.dispose();
    }
  });
});
