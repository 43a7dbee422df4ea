/**
 * tfjs adapter: our UNet (NHWC inside tfjs) as the diffusion core's NetworkFn over NCHW
 * Float32Arrays. The ONNX Runtime adapter will offer the same function; samplers see neither.
 */
import * as tf from '@tensorflow/tfjs';
import type { NetworkFn, Shape } from '../diffusion/index';
import type { UNet } from './unet';

export function tfjsNetwork(model: UNet, weights?: readonly tf.Tensor[]): NetworkFn {
  return async (xIn: Float32Array, shape: Shape, t: number, labels?: Int32Array): Promise<Float32Array> => {
    const [B, C, H, W] = shape;
    const out = tf.tidy(() => {
      const x = tf.transpose(tf.tensor4d(xIn, [B, C, H, W]), [0, 2, 3, 1]) as tf.Tensor4D;
      const tt = tf.fill([B], t) as tf.Tensor1D;
      const lab = labels ? tf.tensor1d(labels, 'int32') : undefined;
      return tf.transpose(model.apply(x, tt, { weights, labels: lab }), [0, 3, 1, 2]);
    });
    try {
      return (await out.data()) as Float32Array;
    } finally {
      out.dispose();
    }
  };
}
