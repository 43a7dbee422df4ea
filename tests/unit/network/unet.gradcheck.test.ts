/** Gradients of the whole tiny UNet (every parameter tensor) against finite differences (cpu). */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { UNetConfig } from '../../../src-main/network/config';
import { UNet } from '../../../src-main/network/unet';
import { gradCheck, randomTensor } from './gradcheck';
import { TINY_UNET } from '../../helpers/unet';

const TINY: UNetConfig = { ...TINY_UNET, channelMults: [...TINY_UNET.channelMults], attentionResolutions: [...TINY_UNET.attentionResolutions] };

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('UNet gradients', () => {
  it('gradients of every parameter tensor match finite differences', () => {
    // one entry from each of the ~70 parameter tensors: convs 3x3 / stride 2 / 1x1, linears,
    // GroupNorms, attention, upsample path, time-embedding MLP
    const m = new UNet(TINY, { seed: 3 });
    const x = randomTensor([2, 8, 8, 3], 5) as tf.Tensor4D;
    const t = tf.tensor1d([3, 700]);
    const vars = m.variables();
    const r = gradCheck((ws) => m.apply(x, t, { weights: ws }), vars, {
      entries: 1,
      names: m.specs.map((s) => s.name),
      seed: 99,
    });
    expect(r.failures).toEqual([]);
    expect(r.checked).toBe(vars.length);
    tf.dispose([x, t]);
    m.dispose();
  });

});
