/**
 * Export of our UNet to ONNX: graph shape and metadata, and forward parity ONNX Runtime (CPU EP)
 * vs tfjs (cpu backend) on random inputs and random seeded weights:
 * max |ort - tfjs| <= 1e-4 * max |tfjs| (issue 5, deliverable 2).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BENCH_UNET_CONFIG, type UNetConfig } from '../../../src-main/network/config';
import { unetParamSpecs } from '../../../src-main/network/architecture';
import { EMA_PREFIX, parseWeights, readUNetWeights, serializeUNet } from '../../../src-main/network/weights';
import { normals, uniforms } from '../../../src-main/diffusion/rng';
import { buildUNetModelProto, exportUNetToOnnx, hwioToOihw, META_KEYS, OPSET } from '../../../src-main/onnx/export';
import { decodeModel, DataType } from '../../../src-main/onnx/proto';
import { createOrtSession, loadOrt, type OrtSession } from '../../../src-main/onnx/session';
import { maxAbs, maxAbsDiff, randomUNet, tfjsForward, TINY } from './helpers';

const META = { prediction: 'eps' as const, schedule: { kind: 'discrete', beta: 'linear', trainSteps: 1000 }, appVersion: '0.1.0-test' };
const quiet = { log: () => {}, intraOpThreads: 2, reuse: false } as const;

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const sessions: OrtSession[] = [];
afterAll(async () => {
  for (const s of sessions) await s.dispose();
});

async function ortForward(bytes: Uint8Array, x: Float32Array, shape: number[], t: Float32Array): Promise<Float32Array> {
  const s = await createOrtSession(bytes, { ...quiet, provider: 'cpu' });
  sessions.push(s);
  const out = await s.run({ sample: new s.ort.Tensor('float32', x, shape), timestep: new s.ort.Tensor('float32', t, [shape[0]]) });
  return out.out_sample.data as Float32Array;
}

interface Case {
  name: string;
  config: UNetConfig;
  batch: number;
  /** timesteps per image */
  t: (b: number) => number;
  groupNorm?: 'decomposed' | 'native';
}

const CASES: Case[] = [
  { name: 'tiny (16 px, base 8, mults [1,2], attention at 8)', config: TINY, batch: 3, t: (b) => [0, 417, 999][b] },
  {
    name: '2 res blocks, attention at 8 and 4',
    config: { ...TINY, channelMults: [1, 2, 2], resBlocks: 2, attentionResolutions: [8, 4] },
    batch: 2,
    t: (b) => [12, 873][b],
  },
  {
    name: 'dropout 0.3 (off at inference), 1 channel, continuous time',
    config: { ...TINY, inChannels: 1, dropout: 0.3, timeInput: 'continuous', attentionResolutions: [16, 8] },
    batch: 2,
    t: (b) => [3.25, 640.5][b],
  },
  { name: 'tiny with GroupNormalization-21 (opset 21)', config: TINY, batch: 2, t: (b) => [5, 700][b], groupNorm: 'native' },
  { name: 'bench UNet (UNET_SPEC.md, 4,437,699 params), batch 2', config: { ...(BENCH_UNET_CONFIG as UNetConfig) }, batch: 2, t: (b) => [999, 250][b] },
];

describe('exportUNetToOnnx: parity with tfjs', () => {
  it.each(CASES)('$name', async ({ config, batch, t, groupNorm }) => {
    const model = randomUNet(config, 11);
    try {
      const S = config.imageSize;
      const shape = [batch, config.inChannels, S, S];
      const x = normals(5, 0, batch * config.inChannels * S * S);
      const ts = Float32Array.from({ length: batch }, (_, b) => t(b));
      const bytes = exportUNetToOnnx(model, META, { groupNorm });
      const ref = await tfjsForward(model, x, shape, ts);
      const got = await ortForward(bytes, x, shape, ts);
      const diff = maxAbsDiff(got, ref);
      const scale = maxAbs(ref);
      // figures for the report
      console.log(`[parity] ${config.imageSize}px C ${config.inChannels} dropout ${config.dropout} base ${config.baseChannels} mults [${config.channelMults}] res ${config.resBlocks} attn [${config.attentionResolutions}] ${groupNorm ?? 'decomposed'}: max|diff| ${diff.toExponential(3)}, max|tfjs| ${scale.toFixed(4)}, ratio ${(diff / scale).toExponential(3)}`);
      expect(scale).toBeGreaterThan(0.01);
      expect(diff).toBeLessThanOrEqual(1e-4 * scale);
    } finally {
      model.dispose();
    }
  });
});

describe('exportUNetToOnnx: graph and metadata', () => {
  it('inputs, output, opset, metadata props', () => {
    const model = randomUNet(TINY, 1);
    try {
      const m = decodeModel(exportUNetToOnnx(model, { ...META, extra: { licence: 'CC0' } }));
      expect(m.opsetImport).toEqual([{ domain: '', version: OPSET.decomposed }]);
      expect(m.irVersion).toBe(8);
      expect(m.producerName).toBe('sfumato');
      const io = (v: { name?: string; type?: { tensorType?: { elemType?: number; shape?: { dim?: { dimValue?: number; dimParam?: string }[] } } } }) => [
        v.name,
        v.type?.tensorType?.elemType,
        v.type?.tensorType?.shape?.dim?.map((d) => d.dimValue ?? d.dimParam),
      ];
      expect(m.graph?.input?.map(io)).toEqual([
        ['sample', DataType.FLOAT, ['batch', 3, 16, 16]],
        ['timestep', DataType.FLOAT, ['batch']],
      ]);
      expect(m.graph?.output?.map(io)).toEqual([['out_sample', DataType.FLOAT, ['batch', 3, 16, 16]]]);
      const props = Object.fromEntries((m.metadataProps ?? []).map((p) => [p.key, p.value]));
      expect(props[META_KEYS.formatVersion]).toBe('1');
      expect(props[META_KEYS.prediction]).toBe('eps');
      expect(JSON.parse(props[META_KEYS.schedule] as string)).toEqual(META.schedule);
      expect(props[META_KEYS.imageSize]).toBe('16');
      expect(props[META_KEYS.channels]).toBe('3');
      expect(props[META_KEYS.appVersion]).toBe('0.1.0-test');
      expect(props[META_KEYS.timeInput]).toBe('discrete');
      expect(JSON.parse(props[META_KEYS.config] as string)).toEqual(TINY);
      expect(props[META_KEYS.weightsDigest]).toMatch(/^[0-9a-f]{64}$/);
      expect(props.licence).toBe('CC0');
      expect(() => exportUNetToOnnx(model, { ...META, extra: { [META_KEYS.prediction]: 'v' } })).toThrow(/collides/);
    } finally {
      model.dispose();
    }
  });

  it('is lean: weights are initializers under state_dict names in PyTorch layout; no layout transposes', () => {
    const model = randomUNet(TINY, 2);
    try {
      const proto = buildUNetModelProto(model, META);
      const graph = proto.graph!;
      const inits = new Map(graph.initializer!.map((t) => [t.name, t]));
      const tfjs = new Map(readUNetWeights(model).map((w) => [w.name, w]));
      for (const spec of unetParamSpecs(TINY)) {
        const t = inits.get(spec.name);
        expect(t, spec.name).toBeDefined();
        expect(t!.dataType).toBe(DataType.FLOAT);
        // norms are stored [C, 1, 1] to broadcast over NCHW; everything else in PyTorch's shape
        expect(t!.dims).toEqual(spec.kind === 'norm' ? [spec.shape[0], 1, 1] : spec.torchShape);
      }
      // one conv weight checked value by value: OIHW[o][i][y][x] = HWIO[y][x][i][o]
      const w = tfjs.get('down.0.0.c1.weight')!;
      const raw = inits.get('down.0.0.c1.weight')!.rawData!;
      const oihw = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
      const [kh, kw, cin, cout] = w.shape;
      expect(oihw[((5 * cin + 3) * kh + 2) * kw + 1]).toBe(w.data[((2 * kw + 1) * cin + 3) * cout + 5]);
      expect(hwioToOihw(w.data, w.shape)).toEqual(oihw);
      const ops = graph.node!.map((n) => n.opType);
      const count = (op: string) => ops.filter((o) => o === op).length;
      const attnBlocks = unetParamSpecs(TINY).filter((s) => s.name.endsWith('.qkv.weight')).length; // down 1, mid 1, up 2
      expect(attnBlocks).toBe(4);
      expect(count('Transpose')).toBe(2 * attnBlocks); // q^T and a^T only (ORT folds both into FusedMatMul)
      expect(count('Identity')).toBe(0);
      expect(count('Conv')).toBe(unetParamSpecs(TINY).filter((s) => s.kind === 'conv' && s.role === 'weight').length);
      expect(count('InstanceNormalization')).toBe(unetParamSpecs(TINY).filter((s) => s.kind === 'norm' && s.role === 'weight').length);
      expect(count('Sin') + count('Cos')).toBe(2); // the embedding is computed in-graph from `timestep`
      expect(graph.node!.every((n) => n.input!.every((i) => i === '' || inits.has(i) || i === 'sample' || i === 'timestep' || graph.node!.some((p) => p.output!.includes(i))))).toBe(true);
    } finally {
      model.dispose();
    }
  });

  it("ORT fuses what the header says: SiLU -> QuickGelu, attention Transpose+MatMul(+Mul) -> FusedMatMul", async () => {
    const model = randomUNet(TINY, 5);
    const dir = await mkdtemp(join(tmpdir(), 'sfumato-onnx-'));
    try {
      const ort = await loadOrt();
      const file = join(dir, 'optimised.onnx');
      // level 'extended' = every fusion but the machine-specific NCHWc layout ('all' adds that)
      const s = await ort.InferenceSession.create(exportUNetToOnnx(model, META), { graphOptimizationLevel: 'extended', optimizedModelFilePath: file, intraOpNumThreads: 1 });
      await s.release();
      const ops = decodeModel(new Uint8Array(await readFile(file))).graph!.node!.map((n) => n.opType);
      const count = (op: string) => ops.filter((o) => o === op).length;
      expect(count('Sigmoid')).toBe(0);
      expect(count('QuickGelu')).toBe(2 * 8 + 3); // 2 per ResBlock (8 in TINY), the temb MLP's, SiLU(temb), the output's
      expect(count('FusedMatMul')).toBe(2 * 4);
      expect(count('Transpose')).toBe(0);
    } finally {
      model.dispose();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('exports a checkpoint ({config, tensors}): EMA weights when present, model weights on request', () => {
    const model = randomUNet(TINY, 3);
    try {
      const ema = model.variables().map((v) => tf.mul(v, 0.5));
      const parsed = parseWeights(serializeUNet(model, { ema }));
      ema.forEach((e) => e.dispose());
      const bias = (bytes: Uint8Array) => {
        const t = decodeModel(bytes).graph!.initializer!.find((i) => i.name === 'cin.bias')!;
        return Array.from(new Float32Array(t.rawData!.slice().buffer));
      };
      const props = (bytes: Uint8Array) => Object.fromEntries(decodeModel(bytes).metadataProps!.map((p) => [p.key, p.value]));
      const original = Array.from(readUNetWeights(model).find((w) => w.name === 'cin.bias')!.data);
      const auto = exportUNetToOnnx({ config: TINY, tensors: parsed.tensors }, META);
      expect(props(auto)[META_KEYS.weights]).toBe('ema');
      expect(bias(auto)).toEqual(original.map((v) => Math.fround(v * 0.5)));
      const plain = exportUNetToOnnx({ config: TINY, tensors: parsed.tensors }, META, { weights: 'model' });
      expect(props(plain)[META_KEYS.weights]).toBe('model');
      expect(bias(plain)).toEqual(original);
      const noEma = parsed.tensors.filter((t) => !t.name.startsWith(EMA_PREFIX));
      expect(() => exportUNetToOnnx({ config: TINY, tensors: noEma }, META, { weights: 'ema' })).toThrow(/no EMA copies/);
      expect(() => exportUNetToOnnx({ config: TINY, tensors: noEma.slice(1) }, META)).toThrow(/lack temb\.0\.weight/);
      expect(() => exportUNetToOnnx({ config: { ...TINY, baseChannels: 16 }, tensors: noEma }, META)).toThrow(/shape/);
    } finally {
      model.dispose();
    }
  });

  it('random timesteps: parity holds across the timestep range', async () => {
    const model = randomUNet(TINY, 4);
    try {
      const B = 4;
      const shape = [B, 3, 16, 16];
      const x = normals(9, 0, B * 3 * 256);
      const ts = Float32Array.from(uniforms(9, 1, B), (u) => Math.floor(u * 1000));
      const bytes = exportUNetToOnnx(model, META);
      const ref = await tfjsForward(model, x, shape, ts);
      const got = await ortForward(bytes, x, shape, ts);
      expect(maxAbsDiff(got, ref)).toBeLessThanOrEqual(1e-4 * maxAbs(ref));
    } finally {
      model.dispose();
    }
  });
});
