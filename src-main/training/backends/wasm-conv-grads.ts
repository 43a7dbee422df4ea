/**
 * Fast convolution gradients for @tensorflow/tfjs-backend-wasm 4.22 (NHWC, dilation 1).
 *
 * tfjs-wasm has no Conv2DBackpropFilter kernel and a naive Conv2DBackpropInput (~1.5 GFLOP/s vs
 * ~20 for its XNNPACK Conv2D / matMul; docs/design-notes.md §Training backends). Both are rewritten here so the arithmetic
 * runs in those fast kernels; JavaScript only moves data (TypedArray.set of channel runs, small
 * transposes), never multiplies.
 *
 * Conv2DBackpropFilter (weight gradient), im2col + one GEMM (Chellapilla et al. 2006):
 *   dW[kh,kw,ci,co] = sum_{b,i,j} x[b, s*i+kh-pt, s*j+kw-pl, ci] * dy[b,i,j,co]
 *   XcolT[(kh,kw,ci), n] = x[...] (zero outside), n = (b,i,j);  dW = XcolT · dy  ([K,N]·[N,Co]),
 *   built from x transposed to [Ci,B,H,W] by shifted plane copies. wasm BatchMatMul is fast only
 *   without transpose flags and re-packs its right operand each call, hence this orientation.
 *   Columns are chunked by batch so the im2col buffer stays under wasmConvGradOptions.im2colBytes;
 *   chunks accumulate.
 *
 * Conv2DBackpropInput (input gradient), sub-pixel ("phase") decomposition of the transposed conv
 * (as in Shi et al. 2016's efficient sub-pixel convolution): for stride s, output rows r = s*m+py
 * only receive taps kh ≡ (py+pt) mod s. With q = (py+pt) mod s, d = floor((py+pt)/s), taps
 * kh = q + s*u (u < U), every phase is a stride-1 correlation of dy with the flipped,
 * channel-swapped sub-kernel K[a,b,co,ci] = W[q+s(U-1-a), ., ci, co], padded U-1-d above.
 *   dx[b, s*m+py, ...] = conv2d(dy, K, pad=[U-1-d, M-Ho+d]) [b, m, ...]
 * For stride 1 this is the textbook "forward conv with the flipped, channel-swapped kernel"; for
 * stride 2 it is four small convs (2x2, 2x1, 1x2, 1x1 for a 3x3 kernel) whose results are
 * interleaved: exactly the forward FLOPs, no multiplications by inserted zeros.
 * Unsupported cases (NCHW, dilation > 1, negative pads) use the original tfjs kernel.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

type TensorInfo = tf.TensorInfo;
type Pads = [[number, number], [number, number], [number, number], [number, number]];

/** Tunables. im2colBytes bounds one im2col chunk; larger batches are processed in slices. */
export const wasmConvGradOptions = {
  im2colBytes: 64 * 1024 * 1024,
  /** route Conv2DBackpropInput to tfjs's own (slow) wasm kernel: for benchmarks and bisecting */
  useOriginalInputKernel: false,
};

interface ConvGeometry {
  B: number;
  H: number;
  W: number;
  Ci: number;
  Ho: number;
  Wo: number;
  Co: number;
  kH: number;
  kW: number;
  sH: number;
  sW: number;
  pT: number;
  pL: number;
}

function geometry(xShape: number[], filterShape: number[], strides: number | [number, number], pad: unknown, dimRoundingMode: unknown, dataFormat: unknown, dilations: unknown): ConvGeometry | null {
  const fmt = tf.backend_util.convertConv2DDataFormat((dataFormat as 'NHWC' | 'NCHW') ?? 'NHWC');
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    (dilations as number | [number, number]) ?? 1,
    pad as 'same' | 'valid' | number,
    dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    false,
    fmt,
  );
  if (info.dataFormat !== 'channelsLast' || info.dilationHeight !== 1 || info.dilationWidth !== 1) return null;
  return {
    B: info.batchSize,
    H: info.inHeight,
    W: info.inWidth,
    Ci: info.inChannels,
    Ho: info.outHeight,
    Wo: info.outWidth,
    Co: info.outChannels,
    kH: info.filterHeight,
    kW: info.filterWidth,
    sH: info.strideHeight,
    sW: info.strideWidth,
    pT: info.padInfo.top,
    pL: info.padInfo.left,
  };
}

function kernelOf(name: string) {
  const k = tf.getKernel(name, 'wasm');
  if (!k) throw new Error(`wasm kernel ${name} is not registered; initialise the wasm backend first`);
  return k.kernelFunc;
}

function run(name: string, backend: BackendWasm, inputs: Record<string, TensorInfo>, attrs: Record<string, unknown>): TensorInfo {
  return kernelOf(name)({ inputs, backend, attrs } as unknown as Parameters<tf.KernelFunc>[0]) as TensorInfo;
}

/**
 * Fills the transposed im2col block XcolT[k, n] (k = (kh, kw, ci), n = (b - b0, i, j)) for images
 * b0 .. b0+nb-1 from xT = x transposed to [Ci, B, H, W]. For stride 1 and Wo == W each (k, b) is
 * one contiguous shifted copy of an image plane plus zeroed border columns; otherwise row runs
 * (stride 1) or single elements (stride > 1).
 */
function fillIm2colT(xT: Float32Array, out: Float32Array, g: ConvGeometry, b0: number, nb: number): void {
  const { B, H, W, Ci, Ho, Wo, kH, kW, sH, sW, pT, pL } = g;
  const plane = Ho * Wo;
  const Nc = nb * plane;
  for (let kh = 0; kh < kH; kh++) {
    // output rows i whose input row i*sH + kh - pT lies inside the image
    const i0 = Math.min(Ho, Math.max(0, Math.ceil((pT - kh) / sH)));
    const i1 = Math.max(i0, Math.min(Ho, Math.floor((H - 1 + pT - kh) / sH) + 1));
    for (let kw = 0; kw < kW; kw++) {
      const off = kw - pL;
      const j0 = Math.min(Wo, Math.max(0, Math.ceil(-off / sW)));
      const j1 = Math.max(j0, Math.min(Wo, Math.floor((W - 1 - off) / sW) + 1));
      for (let ci = 0; ci < Ci; ci++) {
        const rowBase = ((kh * kW + kw) * Ci + ci) * Nc;
        for (let b = 0; b < nb; b++) {
          const dst = rowBase + b * plane;
          const src = (ci * B + b0 + b) * H * W;
          out.fill(0, dst, dst + i0 * Wo);
          out.fill(0, dst + i1 * Wo, dst + plane);
          if (i1 <= i0) continue;
          if (sH === 1 && sW === 1 && Wo === W) {
            // dst index d = i*W + j reads src d + (kh - pT)*W + off: one shifted block copy
            const shift = (kh - pT) * W + off;
            const d0 = i0 * W + j0;
            const d1 = (i1 - 1) * W + j1;
            out.set(xT.subarray(src + d0 + shift, src + d1 + shift), dst + d0);
            for (let i = i0; i < i1; i++) {
              const r = dst + i * W;
              for (let j = 0; j < j0; j++) out[r + j] = 0;
              for (let j = j1; j < W; j++) out[r + j] = 0;
            }
          } else if (sW === 1) {
            for (let i = i0; i < i1; i++) {
              const r = dst + i * Wo;
              const s0 = src + (i * sH + kh - pT) * W + off;
              out.fill(0, r, r + j0);
              out.set(xT.subarray(s0 + j0, s0 + j1), r + j0);
              out.fill(0, r + j1, r + Wo);
            }
          } else {
            for (let i = i0; i < i1; i++) {
              const r = dst + i * Wo;
              const s0 = src + (i * sH + kh - pT) * W + off;
              out.fill(0, r, r + j0);
              for (let j = j0; j < j1; j++) out[r + j] = xT[s0 + j * sW];
              out.fill(0, r + j1, r + Wo);
            }
          }
        }
      }
    }
  }
}

/**
 * Weight gradient as one GEMM per batch chunk: dW[K, Co] = XcolT[K, N] · dy[N, Co].
 * The large im2col matrix is the streamed left operand; the packed right operand is dy (small):
 * tfjs-wasm's XNNPACK matMul re-packs its right operand on every call, which made the
 * dy^T · Xcol order 3-15x slower (measured).
 */
function backpropFilter(backend: BackendWasm, x: TensorInfo, dy: TensorInfo, g: ConvGeometry, filterShape: number[]): TensorInfo {
  const { B, Ci, Ho, Wo, Co, kH, kW, sH, sW, pT, pL } = g;
  const K = kH * kW * Ci;
  const plane = Ho * Wo;
  // 1x1 stride-1 unpadded conv: xT itself is XcolT (no copy)
  const direct = kH === 1 && kW === 1 && sH === 1 && sW === 1 && pT === 0 && pL === 0;
  const chunk = direct ? B : Math.max(1, Math.min(B, Math.floor(wasmConvGradOptions.im2colBytes / Math.max(1, plane * K * 4))));
  const xT = run('Transpose', backend, { x }, { perm: [3, 0, 1, 2] });
  const acc = chunk < B ? new Float32Array(K * Co) : null;
  let result: TensorInfo | null = null;
  try {
    for (let b0 = 0; b0 < B; b0 += chunk) {
      const nb = Math.min(chunk, B - b0);
      const Nc = nb * plane;
      const cols = direct ? null : backend.makeOutput([1, K, Nc], 'float32');
      const dyChunk = nb === B ? null : backend.makeOutput([1, Nc, Co], 'float32');
      try {
        // heap views only after the allocations above (growing the heap detaches old views)
        if (cols) fillIm2colT(backend.typedArrayFromHeap(xT) as Float32Array, backend.typedArrayFromHeap(cols) as Float32Array, g, b0, nb);
        if (dyChunk) {
          const dyv = backend.typedArrayFromHeap(dy) as Float32Array;
          (backend.typedArrayFromHeap(dyChunk) as Float32Array).set(dyv.subarray(b0 * plane * Co, (b0 + nb) * plane * Co));
        }
        const a: TensorInfo = cols ?? { dataId: xT.dataId, shape: [1, K, Nc], dtype: 'float32' };
        const b: TensorInfo = dyChunk ?? { dataId: dy.dataId, shape: [1, Nc, Co], dtype: 'float32' };
        const prod = run('BatchMatMul', backend, { a, b }, { transposeA: false, transposeB: false });
        if (!acc) {
          result = prod; // [1, K, Co] is already HWIO order
        } else {
          const pv = backend.typedArrayFromHeap(prod) as Float32Array;
          for (let i = 0; i < acc.length; i++) acc[i] += pv[i];
          backend.disposeData(prod.dataId);
        }
      } finally {
        if (cols) backend.disposeData(cols.dataId);
        if (dyChunk) backend.disposeData(dyChunk.dataId);
      }
    }
  } finally {
    backend.disposeData(xT.dataId);
  }
  if (acc) return backend.makeOutput(filterShape, 'float32', undefined, acc);
  const r = result as unknown as TensorInfo;
  return { dataId: r.dataId, shape: filterShape, dtype: 'float32' };
}

/** Input gradient: one stride-1 XNNPACK conv per output phase, interleaved. */
function backpropInput(backend: BackendWasm, dy: TensorInfo, filter: TensorInfo, g: ConvGeometry): TensorInfo | null {
  const { B, H, W, Ci, Ho, Wo, Co, kH, kW, sH, sW, pT, pL } = g;
  interface Axis {
    q: number;
    U: number;
    d: number;
    M: number;
    padA: number;
    padB: number;
  }
  const axis = (p: number, s: number, pad: number, k: number, size: number, outSize: number): Axis => {
    const q = (p + pad) % s;
    const U = q < k ? Math.ceil((k - q) / s) : 0;
    const d = Math.floor((p + pad) / s);
    const M = Math.ceil((size - p) / s);
    const padA = U - 1 - d;
    return { q, U, d, M, padA, padB: M - outSize - padA + U - 1 };
  };
  const phases: { py: number; px: number; ay: Axis; ax: Axis }[] = [];
  for (let py = 0; py < Math.min(sH, H); py++) {
    for (let px = 0; px < Math.min(sW, W); px++) {
      const ay = axis(py, sH, pT, kH, H, Ho);
      const ax = axis(px, sW, pL, kW, W, Wo);
      if (ay.M <= 0 || ax.M <= 0) continue;
      if (ay.U === 0 || ax.U === 0 || ay.padA < 0 || ay.padB < 0 || ax.padA < 0 || ax.padB < 0) return null;
      phases.push({ py, px, ay, ax });
    }
  }
  const fv0 = backend.typedArrayFromHeap(filter) as Float32Array;
  const filterData = Float32Array.from(fv0); // small; copied so later allocations cannot detach it
  const single = sH === 1 && sW === 1;
  const dx = single ? null : backend.makeOutput([B, H, W, Ci], 'float32');
  try {
    for (const { py, px, ay, ax } of phases) {
      // K[a, b, co, ci] = W[q_y + sH (U-1-a), q_x + sW (V-1-b), ci, co]: flipped, channels swapped
      const sub = new Float32Array(ay.U * ax.U * Co * Ci);
      for (let a = 0; a < ay.U; a++) {
        const kh = ay.q + sH * (ay.U - 1 - a);
        for (let b = 0; b < ax.U; b++) {
          const kw = ax.q + sW * (ax.U - 1 - b);
          const srcBase = (kh * kW + kw) * Ci * Co;
          const dstBase = (a * ax.U + b) * Co * Ci;
          for (let ci = 0; ci < Ci; ci++) for (let co = 0; co < Co; co++) sub[dstBase + co * Ci + ci] = filterData[srcBase + ci * Co + co];
        }
      }
      const subInfo = backend.makeOutput([ay.U, ax.U, Co, Ci], 'float32', undefined, sub);
      const pads: Pads = [
        [0, 0],
        [ay.padA, ay.padB],
        [ax.padA, ax.padB],
        [0, 0],
      ];
      let phase: TensorInfo;
      try {
        phase = run('Conv2D', backend, { x: dy, filter: subInfo }, { strides: [1, 1], pad: pads, dilations: [1, 1], dataFormat: 'NHWC' });
      } finally {
        backend.disposeData(subInfo.dataId);
      }
      if (single) return phase;
      try {
        const pv = backend.typedArrayFromHeap(phase) as Float32Array;
        const dv = backend.typedArrayFromHeap(dx as TensorInfo) as Float32Array;
        for (let b = 0; b < B; b++) {
          for (let m = 0; m < ay.M; m++) {
            const r = m * sH + py;
            for (let n = 0; n < ax.M; n++) {
              const src = ((b * ay.M + m) * ax.M + n) * Ci;
              dv.set(pv.subarray(src, src + Ci), ((b * H + r) * W + (n * sW + px)) * Ci);
            }
          }
        }
      } finally {
        backend.disposeData(phase.dataId);
      }
    }
  } catch (e) {
    if (dx) backend.disposeData(dx.dataId);
    throw e;
  }
  return dx;
}

/** How often each path ran (for tests and benchmarks). */
export const wasmConvGradStats = { inputFast: 0, inputFallback: 0, filter: 0 };

let installed = false;
let originalBackpropInput: tf.KernelConfig | undefined;

/**
 * Registers Conv2DBackpropFilter and replaces Conv2DBackpropInput for the 'wasm' backend.
 * Idempotent. Call after the wasm backend package is imported (it registers its kernels then).
 */
export function installWasmConvGradKernels(): void {
  if (installed) return;
  originalBackpropInput = tf.getKernel('Conv2DBackpropInput', 'wasm');
  if (!originalBackpropInput) throw new Error('tfjs-backend-wasm is not loaded: import @tensorflow/tfjs-backend-wasm before installing its conv kernels');
  const fallbackInput = originalBackpropInput.kernelFunc;
  tf.unregisterKernel('Conv2DBackpropInput', 'wasm');
  tf.registerKernel({
    kernelName: 'Conv2DBackpropInput',
    backendName: 'wasm',
    // the original's setup binds its wasm function when the backend initialises; keep it for the fallback
    setupFunc: originalBackpropInput.setupFunc,
    kernelFunc: (args) => {
      const { inputs, attrs } = args;
      const backend = args.backend as unknown as BackendWasm;
      const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
      const a = attrs as unknown as { inputShape: number[]; strides: number | [number, number]; pad: unknown; dataFormat?: unknown; dimRoundingMode?: unknown };
      const g = geometry(a.inputShape, filter.shape, a.strides, a.pad, a.dimRoundingMode, a.dataFormat, 1);
      const out = !wasmConvGradOptions.useOriginalInputKernel && g && dy.dtype === 'float32' && filter.dtype === 'float32' ? backpropInput(backend, dy, filter, g) : null;
      if (out) {
        wasmConvGradStats.inputFast++;
        return out;
      }
      wasmConvGradStats.inputFallback++;
      return fallbackInput(args) as TensorInfo;
    },
  });
  if (tf.getKernel('Conv2DBackpropFilter', 'wasm')) tf.unregisterKernel('Conv2DBackpropFilter', 'wasm');
  tf.registerKernel({
    kernelName: 'Conv2DBackpropFilter',
    backendName: 'wasm',
    kernelFunc: (args) => {
      const { inputs, attrs } = args;
      const backend = args.backend as unknown as BackendWasm;
      const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
      const a = attrs as unknown as { filterShape: number[]; strides: number | [number, number]; pad: unknown; dataFormat?: unknown; dimRoundingMode?: unknown };
      const g = geometry(x.shape, a.filterShape, a.strides, a.pad, a.dimRoundingMode, a.dataFormat, 1);
      if (!g) throw new Error('Conv2DBackpropFilter (wasm): only NHWC without dilation is supported; use the cpu backend for NCHW');
      wasmConvGradStats.filter++;
      return backpropFilter(backend, x, dy, g, a.filterShape);
    },
  });
  installed = true;
}

/** Whether installWasmConvGradKernels has run in this process. */
export function wasmConvGradKernelsInstalled(): boolean {
  return installed;
}
