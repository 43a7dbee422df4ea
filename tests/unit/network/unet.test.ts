import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { UNetConfig } from '../../../src-main/network/config';
import { ModelConfigError } from '../../../src-main/network/config';
import { UNet, paramCountOf } from '../../../src-main/network/unet';
import { randomTensor } from './gradcheck';
import { TINY_UNET } from '../../helpers/unet';

/** 8x8, two levels, attention at 4x4, 8 channels, groups 4: every block type. */
const TINY: UNetConfig = { ...TINY_UNET, channelMults: [...TINY_UNET.channelMults], attentionResolutions: [...TINY_UNET.attentionResolutions] };

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const live: UNet[] = [];
function make(config: UNetConfig = TINY, seed = 1): UNet {
  const m = new UNet(config, { seed });
  live.push(m);
  return m;
}
afterEach(() => {
  live.splice(0).forEach((m) => m.dispose());
});

describe('UNet', () => {
  it('forward shape, and paramCount equals paramCountOf', () => {
    const m = make();
    expect(m.paramCount()).toBe(paramCountOf(TINY));
    const before = tf.memory().numTensors;
    const x = randomTensor([2, 8, 8, 3], 1) as tf.Tensor4D;
    const y = m.apply(x, tf.tensor1d([0, 999]));
    expect(y.shape).toEqual([2, 8, 8, 3]);
    expect(Array.from(y.dataSync()).every(Number.isFinite)).toBe(true);
    tf.dispose([x, y]);
    expect(tf.memory().numTensors).toBe(before + 1); // the t tensor above, not disposed on purpose
  });

  it('runs a 16x16, three-level, two-res-block, continuous-time config', () => {
    const m = make({ ...TINY, imageSize: 16, channelMults: [1, 2, 2], resBlocks: 2, attentionResolutions: [8, 4], timeInput: 'continuous' });
    const y = tf.tidy(() => m.apply(randomTensor([1, 16, 16, 3], 2) as tf.Tensor4D, tf.tensor1d([0.37])));
    expect(y.shape).toEqual([1, 16, 16, 3]);
    y.dispose();
  });

  it('initialisation is deterministic per seed and PyTorch-like', () => {
    const a = make(TINY, 7);
    const b = make(TINY, 7);
    const c = make(TINY, 8);
    const va = a.variables().map((v) => Array.from(v.dataSync()));
    expect(b.variables().map((v) => Array.from(v.dataSync()))).toEqual(va);
    expect(Array.from(c.variables()[0].dataSync())).not.toEqual(va[0]);
    for (const [i, spec] of a.specs.entries()) {
      const d = va[i];
      if (spec.kind === 'norm') {
        expect(d.every((v) => v === (spec.role === 'weight' ? 1 : 0))).toBe(true);
      } else {
        const bound = 1 / Math.sqrt(spec.fanIn);
        expect(Math.max(...d.map(Math.abs))).toBeLessThanOrEqual(bound);
        if (d.length >= 200) expect(Math.max(...d.map(Math.abs))).toBeGreaterThan(0.9 * bound);
      }
    }
  });

  it('variables are named like the PyTorch state_dict, in stable order', () => {
    const m = make();
    const names = m.namedVariables().map((n) => n.name);
    expect(names[0]).toBe('temb.0.weight');
    expect(names).toContain('down.0.0.c1.weight');
    expect(names).toContain('down.2.1.qkv.weight');
    expect(m.namedVariables().find((n) => n.name === 'down.0.0.c1.weight')?.variable.shape).toEqual([3, 3, 8, 8]); // HWIO
    expect(m.variables()).toEqual(m.namedVariables().map((n) => n.variable));
  });

  it('rejects a bad config before allocating, and bad inputs with a clear message', () => {
    const before = tf.memory().numTensors;
    expect(() => new UNet({ ...TINY, channelMults: [] })).toThrow(ModelConfigError);
    expect(tf.memory().numTensors).toBe(before);
    const m = make();
    const x = tf.zeros([2, 8, 8, 1]) as tf.Tensor4D;
    const t = tf.zeros([2]) as tf.Tensor1D;
    expect(() => m.apply(x, t)).toThrow(/NHWC \[B, H, W, 3\]/);
    const x3 = tf.zeros([2, 8, 8, 3]) as tf.Tensor4D;
    expect(() => m.apply(x3, tf.zeros([3]) as tf.Tensor1D)).toThrow(/t must be \[B\]/);
    tf.dispose([x, t, x3]);
  });

  it('apply with explicit weights equals apply with the variables', () => {
    const m = make();
    const x = randomTensor([2, 8, 8, 3], 3) as tf.Tensor4D;
    const t = tf.tensor1d([5, 50]);
    const y1 = m.apply(x, t);
    const y2 = m.apply(x, t, { weights: m.variables().map((v) => v.clone()) });
    expect(Array.from(y2.dataSync())).toEqual(Array.from(y1.dataSync()));
    tf.dispose([x, t, y1, y2]);
  });

  it('dropout: off in eval mode, seeded masks in training mode', () => {
    const m = make({ ...TINY, dropout: 0.3 });
    const x = randomTensor([2, 8, 8, 3], 4) as tf.Tensor4D;
    const t = tf.tensor1d([5, 50]);
    const run = (o: Parameters<UNet['apply']>[2]) => {
      const y = m.apply(x, t, o);
      const d = Array.from(y.dataSync());
      y.dispose();
      return d;
    };
    const evalA = run({});
    expect(run({ training: false, dropoutSeed: 3 })).toEqual(evalA);
    const trainA = run({ training: true, dropoutSeed: 11 });
    expect(run({ training: true, dropoutSeed: 11 })).toEqual(trainA);
    expect(trainA).not.toEqual(evalA);
    expect(run({ training: true, dropoutSeed: 12 })).not.toEqual(trainA);
    tf.dispose([x, t]);
  });

  it('no tensor leak across Adam training steps (same count after step 2 and step 20)', () => {
    const m = make({ ...TINY, dropout: 0.1 });
    const opt = tf.train.adam(1e-3);
    const x = randomTensor([1, 8, 8, 3], 6) as tf.Tensor4D;
    const target = randomTensor([1, 8, 8, 3], 7) as tf.Tensor4D;
    const t = tf.tensor1d([10]);
    const losses: number[] = [];
    let after2 = -1;
    for (let step = 1; step <= 20; step++) {
      const loss = opt.minimize(
        () => tf.losses.meanSquaredError(target, m.apply(x, t, { training: true, dropoutSeed: step * 1000 })) as tf.Scalar,
        true,
        m.variables(),
      );
      losses.push((loss as tf.Scalar).dataSync()[0]);
      loss?.dispose();
      if (step === 2) after2 = tf.memory().numTensors;
    }
    expect(tf.memory().numTensors).toBe(after2);
    expect(losses[19]).toBeLessThan(losses[0]);
    opt.dispose();
    tf.dispose([x, target, t]);
  });

  it('variableGrads reaches every variable', () => {
    const m = make();
    const x = randomTensor([1, 8, 8, 3], 8) as tf.Tensor4D;
    const t = tf.tensor1d([1]);
    const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(m.apply(x, t))) as tf.Scalar, m.variables());
    expect(Object.keys(grads)).toHaveLength(m.variables().length);
    tf.dispose([value, x, t, ...Object.values(grads)]);
  });

  it('dispose releases every variable', () => {
    const before = tf.memory().numTensors;
    const m = new UNet(TINY);
    expect(tf.memory().numTensors).toBe(before + m.specs.length);
    m.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(() => m.variables()).toThrow(/after dispose/);
  });
});
