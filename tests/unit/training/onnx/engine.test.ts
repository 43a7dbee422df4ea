import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { normals, uniforms } from '../../../../src-main/diffusion/index';
import type { UNetConfig } from '../../../../src-main/network/config';
import { UNet } from '../../../../src-main/network/unet';
import { shardLossAndGrads } from '../../../../src-main/training/parallel/compute';
import { OrtGradientEngine } from '../../../../src-main/training/onnx/engine';

// Every layer type: stride-2 down, nearest up, 1x1 skip convs (channel change), attention at two
// resolutions, two res blocks per level, continuous and discrete time.
const CONFIG: UNetConfig = { imageSize: 8, inChannels: 3, baseChannels: 8, channelMults: [1, 2], resBlocks: 2, attentionResolutions: [8, 4], groups: 4, dropout: 0, timeInput: 'discrete' };

function batchOf(rows: number, S: number, seed: number) {
  const per = S * S * 3;
  const u = uniforms(seed, 1, rows);
  return {
    xIn: normals(seed, 2, rows * per),
    target: normals(seed, 3, rows * per),
    time: Float32Array.from(u, (x) => Math.floor(x * 1000)),
    weight: Float32Array.from(u, (x) => 0.5 + x),
  };
}

describe('ONNX Runtime training graph', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('gives the loss and every parameter gradient of the tfjs model (cpu backend)', async () => {
    const model = new UNet(CONFIG, { seed: 7 });
    const rows = 3;
    const batch = batchOf(rows, CONFIG.imageSize, 11);
    const ref = shardLossAndGrads(model, batch, rows, 4, undefined);
    const engine = await OrtGradientEngine.create(CONFIG, rows, { threads: 1 });
    try {
      const weights = model.variables().map((v) => v.dataSync() as Float32Array);
      const got = await engine.lossAndGrads(weights, batch, 4);
      expect(got.loss).toBeCloseTo(ref.loss, 5);
      const names = model.specs.map((s) => s.name);
      const worst: { name: string; rel: number }[] = [];
      ref.grads.forEach((t, i) => {
        const r = t.dataSync() as Float32Array;
        const g = got.grads[i];
        expect(g.length, names[i]).toBe(r.length);
        let num = 0;
        let den = 0;
        for (let j = 0; j < r.length; j++) {
          num += (g[j] - r[j]) ** 2;
          den += r[j] ** 2;
        }
        worst.push({ name: names[i], rel: Math.sqrt(num / Math.max(den, 1e-30)) });
      });
      worst.sort((a, b) => b.rel - a.rel);
      expect(worst[0].rel, JSON.stringify(worst.slice(0, 3))).toBeLessThan(1e-4);
    } finally {
      tf.dispose(ref.grads);
      model.dispose();
      await engine.dispose();
    }
  });

  it('with dropout: one mask input per res block, drawn from the dropout seed (same seed, same gradients)', async () => {
    const config = { ...CONFIG, dropout: 0.2 };
    const rows = 2;
    const engine = await OrtGradientEngine.create(config, rows, { threads: 1 });
    try {
      expect(engine.graph.masks.map((m) => m.name)).toEqual(['mask.down.0.0', 'mask.down.1.0', 'mask.down.3.0', 'mask.down.4.0', 'mask.mid1', 'mask.mid2', 'mask.up.0.0', 'mask.up.1.0', 'mask.up.2.0', 'mask.up.4.0', 'mask.up.5.0', 'mask.up.6.0']);
      const model = new UNet(config, { seed: 3 });
      const weights = model.variables().map((v) => v.dataSync() as Float32Array);
      model.dispose();
      const batch = batchOf(rows, config.imageSize, 5);
      const a = await engine.lossAndGrads(weights, batch, rows, 42);
      const b = await engine.lossAndGrads(weights, batch, rows, 42);
      const c = await engine.lossAndGrads(weights, batch, rows, 43);
      expect(b.loss).toBe(a.loss);
      expect(Array.from(b.grads[10])).toEqual(Array.from(a.grads[10]));
      expect(c.loss).not.toBe(a.loss);
      await expect(engine.lossAndGrads(weights, batch, rows)).rejects.toThrow(/dropout seed/);
    } finally {
      await engine.dispose();
    }
  });

  it('refuses a batch of another size than it was built for', async () => {
    const engine = await OrtGradientEngine.create(CONFIG, 2, { threads: 1 });
    try {
      const model = new UNet(CONFIG, { seed: 3 });
      const weights = model.variables().map((v) => v.dataSync() as Float32Array);
      model.dispose();
      await expect(engine.lossAndGrads(weights, batchOf(3, CONFIG.imageSize, 1), 3)).rejects.toThrow(/built for 2 rows, got 3/);
    } finally {
      await engine.dispose();
    }
  });
});
