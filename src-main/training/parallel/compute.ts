/**
 * The gradient computation of one shard, the same code in the coordinator (in-process path) and in
 * every gradient worker, so both compute exactly the same function.
 */
import * as tf from '@tensorflow/tfjs';
import type { UNet } from '../../network/unet';
import { shardLoss, type BatchArrays } from './shards';

export interface ShardGrads {
  /** this shard's share of the batch loss (Σ over shards = the batch loss) */
  loss: number;
  /** gradients in the order of model.variables(); the caller owns (and disposes) them */
  grads: tf.Tensor[];
}

/** Loss and parameter gradients of `rows` rows of a micro-batch of `fullBatch` rows. */
export function shardLossAndGrads(model: UNet, shard: BatchArrays, rows: number, fullBatch: number, dropoutSeed: number | undefined): ShardGrads {
  const { imageSize: S, inChannels: C } = model.config;
  const vars = model.variables();
  const { value, grads } = tf.tidy(() => {
    const xT = tf.tensor4d(shard.xIn, [rows, S, S, C]);
    const tT = tf.tensor1d(shard.time);
    const yT = tf.tensor4d(shard.target, [rows, S, S, C]);
    const wT = tf.tensor4d(shard.weight, [rows, 1, 1, 1]);
    const labels = shard.labels ? tf.tensor1d(shard.labels, 'int32') : undefined;
    const augDim = model.config.augmentDim ?? 0;
    const augment = augDim > 0 ? tf.tensor2d(shard.augment ?? new Float32Array(rows * augDim), [rows, augDim]) : undefined;
    return tf.variableGrads(() => shardLoss(model.apply(xT, tT, { training: true, dropoutSeed, labels, augment }), yT, wT, fullBatch), vars);
  });
  const loss = value.dataSync()[0];
  value.dispose();
  return { loss, grads: vars.map((v) => grads[v.name]) };
}
