import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { EMA } from '../../../src-main/network/ema';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('EMA', () => {
  it('follows shadow = d*shadow + (1-d)*value with d = min(decay, (1+n)/(10+n))', () => {
    const v = tf.variable(tf.tensor1d([0, 10]), true, 'ema-test-v');
    const ema = new EMA([v], { decay: 0.5 });
    let expected = [0, 10];
    const decays: number[] = [];
    for (let n = 0; n < 12; n++) {
      v.assign(tf.tensor1d([n + 1, -n]));
      const d = Math.min(0.5, (1 + n) / (10 + n));
      decays.push(ema.currentDecay());
      expect(ema.currentDecay()).toBeCloseTo(d, 12);
      expected = expected.map((s, i) => d * s + (1 - d) * [n + 1, -n][i]);
      ema.update();
      const got = Array.from(ema.shadows()[0].dataSync());
      got.forEach((g, i) => expect(g).toBeCloseTo(expected[i], 4));
    }
    expect(decays[0]).toBeCloseTo(0.1, 12); // warm-up: (1+0)/(10+0)
    expect(decays[11]).toBe(0.5); // capped at decay
    expect(ema.updates).toBe(12);
    ema.dispose();
    v.dispose();
  });

  it('without warm-up uses the fixed decay; copyTo, setShadows; shadows are not trainable; no leaks', () => {
    const v = tf.variable(tf.ones([3]), true, 'ema-test-w');
    const ema = new EMA([v], { decay: 0.9, warmup: false, updates: 100 });
    expect(ema.shadows()[0].trainable).toBe(false);
    expect(ema.currentDecay()).toBe(0.9);
    v.assign(tf.zeros([3]));
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) ema.update();
    expect(tf.memory().numTensors).toBe(before);
    expect(ema.shadows()[0].dataSync()[0]).toBeCloseTo(0.9 ** 5, 6);
    const target = tf.variable(tf.zeros([3]), false, 'ema-test-target');
    ema.copyTo([target]);
    expect(target.dataSync()[0]).toBeCloseTo(0.9 ** 5, 6);
    const newValue = tf.fill([3], 7);
    ema.setShadows([newValue], 3);
    expect(ema.updates).toBe(3);
    expect(Array.from(ema.shadows()[0].dataSync())).toEqual([7, 7, 7]);
    expect(() => ema.setShadows([tf.zeros([2])])).toThrow(/shape/);
    expect(() => new EMA([v], { decay: 1 })).toThrow(/decay/);
    ema.dispose();
    tf.dispose([v, target, newValue]);
  });
});
