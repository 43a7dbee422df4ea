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
 * Per-channel sums of a channels-last tensor without the transpose that tfjs-wasm's Sum does for
 * reductions over leading axes, as XNNPACK NHWC average pools times the window size. Measured on
 * wasm at [16,32,32,64] with fresh inputs: Sum over [0,1,2] 7.4 ms, ones·x as a matMul 8.7 ms
 * (XNNPACK re-packs its right operand), these pools 0.6–0.75 ms.
 * `sumSpatial`: [B,H,W,C] -> [B,1,1,C], Σ over H, W.  `sumAllButChannels`: [B,H,W,C] -> [C].
 */
function sumSpatial(x: tf.Tensor4D): tf.Tensor4D {
  const [, H, W] = x.shape;
  if (H * W === 1) return x;
  return tf.mul(tf.avgPool(x, [H, W], 1, 'valid'), H * W);
}

function sumAllButChannels(x: tf.Tensor4D): tf.Tensor1D {
  const [B, H, W, C] = x.shape;
  if (B * H * W === 1) return tf.reshape(x, [C]);
  const pooled = tf.avgPool(tf.reshape(x, [1, B * H, W, C]) as tf.Tensor4D, [B * H, W], 1, 'valid');
  return tf.reshape(tf.mul(pooled, B * H * W), [C]);
}

/** x + b for x [B,H,W,C] and b [C], with the bias gradient as one pool (sumAllButChannels). */
const addBias = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const x = args[0] as tf.Tensor4D;
  const b = args[1] as tf.Tensor1D;
  const save = args[2] as tf.GradSaveFunc;
  save([]);
  return { value: tf.add(x, b), gradFunc: (dy: tf.Tensor) => [dy, sumAllButChannels(dy as tf.Tensor4D)] };
});

/**
 * 2-D convolution with bias, PyTorch semantics for kernel k in {1, 3}, padding (k-1)/2.
 * x [B,H,W,Cin], w HWIO [k,k,Cin,Cout], b [Cout]; stride 1 or 2.
 */
export function conv2d(x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D, stride: 1 | 2 = 1): tf.Tensor4D {
  const k = w.shape[0];
  const pad = stride === 1 ? 'same' : k === 1 ? 'valid' : PAD1;
  return addBias(tf.conv2d(x, w, stride, pad), b) as tf.Tensor4D;
}

/** y = x W + b with x [B, in], W [in, out] (PyTorch nn.Linear with W transposed). */
export function linear(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor2D {
  return tf.add(tf.matMul(x, w), b);
}

/**
 * SiLU(x) = x * sigmoid(x) (Elfwing et al. 2018; torch.nn.functional.silu), with the derivative
 * written out, silu'(x) = s (1 + x (1 - s)), s = sigmoid(x): saves only x and needs 6 elementwise
 * passes backwards instead of autodiff's ~11 (sigmoid's and mul's gradients, casts and copies).
 */
const siluOp = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const x = args[0] as tf.Tensor;
  const save = args[1] as tf.GradSaveFunc;
  save([x]);
  return {
    value: tf.mul(x, tf.sigmoid(x)),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs] = saved;
      const sg = tf.sigmoid(xs);
      return [tf.mul(dy, tf.mul(sg, tf.add(tf.mul(xs, tf.sub(1, sg)), 1)))];
    },
  };
});

export function silu<T extends tf.Tensor>(x: T): T {
  return siluOp(x) as T;
}

/**
 * GroupNorm (Wu & He 2018), as torch.nn.GroupNorm: channels split into `groups` consecutive groups,
 * each normalised over (H, W, channels-in-group) with the biased variance, then a per-channel affine.
 *
 * Written with its gradient in closed form (the batch-norm backward of Ioffe & Szegedy 2015 per
 * group). With xc = x - mu, r = 1/sqrt(var + eps), x^ = xc r, y = gamma x^ + beta:
 *   dbeta_c = Σ_{b,hw} dy,   dgamma_c = Σ_b r_bg Σ_hw dy xc,
 *   dx = r gamma dy - r A_bg - r³ B_bg xc,   A_bg = mean_{hw, c in g}(gamma dy),
 *   B_bg = mean_{hw, c in g}(gamma dy xc)   (r B = mean(dx^ x^), x^ = r xc).
 * Every reduction over H·W is per (image, channel), done as an average pool (sumSpatial), then
 * small reductions over the channels of a group (innermost axis) or the batch: no transposes, and
 * 5 large elementwise passes backwards instead of autodiff's ~20.
 */
function groupNormOp(groups: number, eps: number) {
  return tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const x = args[0] as tf.Tensor4D;
    const gamma = args[1] as tf.Tensor1D;
    const beta = args[2] as tf.Tensor1D;
    const save = args[3] as tf.GradSaveFunc;
    const [B, H, W, C] = x.shape;
    const G = groups;
    const Cg = C / G;
    const HW = H * W;
    // per-(image, group) statistics from per-(image, channel) spatial means
    const groupMean = (t: tf.Tensor4D) => tf.reshape(tf.mean(tf.reshape(HW === 1 ? t : tf.avgPool(t, [H, W], 1, 'valid'), [B, G, Cg]), 2), [B, 1, G, 1]);
    const xg = tf.reshape(x, [B, HW, G, Cg]);
    const xc = tf.sub(xg, groupMean(x)) as tf.Tensor4D;
    const variance = groupMean(tf.reshape(tf.square(xc), [B, H, W, C]) as tf.Tensor4D);
    const r = tf.rsqrt(tf.add(variance, eps)) as tf.Tensor4D; // [B,1,G,1]
    const y = tf.add(tf.mul(tf.reshape(tf.mul(xc, r), [B, H, W, C]), gamma), beta);
    save([xc, r]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xcS, rS] = saved as tf.Tensor4D[];
        const dyg = tf.reshape(dy, [B, HW, G, Cg]);
        // Σ_hw dy and Σ_hw dy·xc per (image, channel): [B, G, Cg]
        const sDy = tf.reshape(sumSpatial(dy as tf.Tensor4D), [B, G, Cg]);
        const sDyXc = tf.reshape(sumSpatial(tf.reshape(tf.mul(dyg, xcS), [B, H, W, C]) as tf.Tensor4D), [B, G, Cg]);
        const r3 = tf.reshape(rS, [B, G, 1]);
        const dBeta = tf.reshape(tf.sum(sDy, 0), [C]);
        const dGamma = tf.reshape(tf.sum(tf.mul(sDyXc, r3), 0), [C]);
        const g3 = tf.reshape(gamma, [1, G, Cg]);
        const n = HW * Cg;
        const A = tf.div(tf.sum(tf.mul(sDy, g3), 2, true), n); // [B, G, 1]
        const Bm = tf.div(tf.sum(tf.mul(sDyXc, g3), 2, true), n); // [B, G, 1]
        const rGamma = tf.reshape(tf.mul(r3, g3), [B, 1, G, Cg]);
        const rA = tf.reshape(tf.mul(r3, A), [B, 1, G, 1]);
        const r3B = tf.reshape(tf.mul(tf.pow(r3, 3), Bm), [B, 1, G, 1]);
        const dx = tf.sub(tf.mul(dyg, rGamma), tf.add(tf.mul(xcS, r3B), rA));
        return [tf.reshape(dx, [B, H, W, C]), dGamma, dBeta];
      },
    };
  });
}

const groupNormOps = new Map<string, ReturnType<typeof groupNormOp>>();

export function groupNorm(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, groups: number, eps = GROUP_NORM_EPS): tf.Tensor4D {
  const key = `${groups}:${eps}`;
  let op = groupNormOps.get(key);
  if (!op) groupNormOps.set(key, (op = groupNormOp(groups, eps)));
  return op(x, gamma, beta) as tf.Tensor4D;
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
