/**
 * The UNet's layers as pure functions of tensors (raw tfjs ops, NHWC, no tfjs-layers), so each one
 * can be gradient-checked on its own. Semantics are PyTorch's (torch.nn.functional), which
 * ../../shared/bench/torch_ref.py uses. Callers own the outputs; call inside tf.tidy.
 */
import * as tf from '@tensorflow/tfjs';

/** PyTorch GroupNorm default epsilon. */
export const GROUP_NORM_EPS = 1e-5;

/** Padding of a 3x3, stride-2, padding-1 PyTorch conv, written explicitly: tfjs 'same' would pad
 *  0 above / 1 below for even sizes, PyTorch pads 1 on both sides (the last row is never read). */
const PAD1: [[number, number], [number, number], [number, number], [number, number]] = [
  [0, 0],
  [1, 1],
  [1, 1],
  [0, 0],
];

/**
 * 2-D convolution with bias, PyTorch semantics for kernel k in {1, 3}, padding (k-1)/2.
 * x [B,H,W,Cin], w HWIO [k,k,Cin,Cout], b [Cout]; stride 1 or 2.
 */
export function conv2d(x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D, stride: 1 | 2 = 1): tf.Tensor4D {
  const k = w.shape[0];
  const pad = stride === 1 ? 'same' : k === 1 ? 'valid' : PAD1;
  return tf.add(tf.conv2d(x, w, stride, pad), b);
}

/** y = x W + b with x [B, in], W [in, out] (PyTorch nn.Linear with W transposed). */
export function linear(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor2D {
  return tf.add(tf.matMul(x, w), b);
}

/** SiLU(x) = x * sigmoid(x) (Elfwing et al. 2018; torch.nn.functional.silu). */
export function silu<T extends tf.Tensor>(x: T): T {
  return tf.mul(x, tf.sigmoid(x));
}

/**
 * GroupNorm (Wu & He 2018), as torch.nn.GroupNorm: channels split into `groups` consecutive groups,
 * each normalised over (H, W, channels-in-group) with the biased variance, then a per-channel affine.
 */
export function groupNorm(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, groups: number, eps = GROUP_NORM_EPS): tf.Tensor4D {
  const [B, H, W, C] = x.shape;
  const xg = tf.reshape(x, [B, H * W, groups, C / groups]);
  const mean = tf.mean(xg, [1, 3], true);
  const centred = tf.sub(xg, mean);
  const variance = tf.mean(tf.square(centred), [1, 3], true);
  const normed = tf.reshape(tf.mul(centred, tf.rsqrt(tf.add(variance, eps))), [B, H, W, C]);
  return tf.add(tf.mul(normed, gamma), beta);
}

/**
 * Single-head self-attention over the H*W positions with a residual connection (torch_ref.py Attn):
 * q, k, v = split(qkv(GroupNorm(x))) along channels in that order; a = softmax(q k^T / sqrt(C));
 * return x + proj(a v). (Vaswani et al. 2017, eq. 1; DDPM's AttnBlock.)
 */
export function attention(
  x: tf.Tensor4D,
  p: { normW: tf.Tensor1D; normB: tf.Tensor1D; qkvW: tf.Tensor4D; qkvB: tf.Tensor1D; projW: tf.Tensor4D; projB: tf.Tensor1D },
  groups: number,
): tf.Tensor4D {
  const [B, H, W, C] = x.shape;
  const qkv = tf.reshape(conv2d(groupNorm(x, p.normW, p.normB, groups), p.qkvW, p.qkvB), [B, H * W, 3 * C]);
  const [q, k, v] = tf.split(qkv, 3, 2) as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];
  const a = tf.softmax(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(C)));
  const o = tf.reshape(tf.matMul(a, v), [B, H, W, C]) as tf.Tensor4D;
  return tf.add(x, conv2d(o, p.projW, p.projB)) as tf.Tensor4D;
}

/**
 * Nearest-neighbour x2 upsampling, torch nn.Upsample(scale_factor=2, mode='nearest'): out[i, j] =
 * in[floor(i/2), floor(j/2)], which is tfjs resizeNearestNeighbor without corner alignment or
 * half-pixel centres. The gradient (dy summed over each 2x2 block = 4 * avgPool 2x2) is written by
 * hand: tfjs 4.22's cpu ResizeNearestNeighborGrad indexes dy with the input's batch stride (wrong
 * for batch > 1, caught by the gradient test). On wasm this is ~30x faster than a broadcast (Tile)
 * forward and ~4x faster than a reshape-sum gradient (measured at 16x16x128, batch 16).
 */
const upsample2x = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const x = args[0] as tf.Tensor4D;
  const save = args[1] as tf.GradSaveFunc;
  const [, H, W] = x.shape;
  save([]);
  const value = tf.image.resizeNearestNeighbor(x, [2 * H, 2 * W], false, false);
  const gradFunc = (dy: tf.Tensor) => tf.mul(tf.avgPool(dy as tf.Tensor4D, 2, 2, 'valid'), 4);
  return { value, gradFunc };
});

export function upsampleNearest2x(x: tf.Tensor4D): tf.Tensor4D {
  return upsample2x(x) as tf.Tensor4D;
}

/**
 * Sinusoidal embedding (Vaswani et al. 2017 §3.5, as DDPM's get_timestep_embedding and
 * torch_ref.py timestep_embedding): freqs_i = exp(-ln(10000) * i / half), i < half = dim / 2,
 * output [sin(t * freqs), cos(t * freqs)] concatenated in that order. t is [B] float.
 */
export function timestepEmbedding(t: tf.Tensor1D, dim: number): tf.Tensor2D {
  const half = dim / 2;
  const freqs = new Float32Array(half);
  for (let i = 0; i < half; i++) freqs[i] = Math.exp((-Math.log(10000) * i) / half);
  const args = tf.mul(tf.reshape(t, [-1, 1]), tf.tensor2d(freqs, [1, half]));
  return tf.concat([tf.sin(args), tf.cos(args)], 1) as tf.Tensor2D;
}
