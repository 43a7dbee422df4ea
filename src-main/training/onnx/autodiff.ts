/**
 * Reverse-mode differentiation of ONNX graphs, written out as more ONNX nodes, so a whole training
 * step (forward, loss, every parameter gradient) is one ONNX Runtime inference session: native,
 * multi-threaded kernels (MLAS) on every desktop, from the onnxruntime-node package Sfumato already
 * ships for sampling. onnxruntime-node has no training API; it does not need one when the gradient
 * is itself a graph.
 *
 * DiffGraph records the forward ops (with static shapes) on a tape as they are built, then
 * `backward` walks the tape in reverse and emits each op's vector-Jacobian product (Griewank &
 * Walther, "Evaluating Derivatives", 2nd ed., ch. 3: the adjoint of y = f(x) is x̄ += ȳ ∂f/∂x),
 * summing the adjoints of values used more than once. Only values that depend on a differentiable
 * input get adjoints. The VJPs cover the ops emitUNet (onnx/unet-graph.ts) uses; an op
 * without one throws when a gradient would have to flow through it.
 *
 * Convolution gradients (stride s, padding p, k x k, group 1) — the bulk of a training step:
 * - weight, stride > 1: im2col as k² strided slices of the padded input, then one GEMM
 *   dW[Co, Ci·k·k] = dY[Co, N·H'·W'] · cols[Ci·k·k, N·H'·W']ᵀ (docs/design-notes.md §Training backends);
 *   stride 1: ≤ 8x8 outputs, one Gather of im2col rows and one GEMM (smallConvWeightGrad);
 *   fewer output than input channels, k² GEMMs of zero-filled shifts of dY against the unpadded
 *   input (shiftedDyWeightGrad); otherwise k² GEMMs over shifted windows of the flattened padded
 *   input (no im2col copy; see the Conv rule); 1x1: one GEMM;
 * - input, stride 1: the forward conv of dY with the flipped, channel-swapped kernel and padding
 *   k-1-p (Dumoulin & Visin 2016, §4.1), which runs on ORT's fast forward kernels; stride > 1:
 *   ConvTranspose with the output padding that restores the input size (their §4.5).
 * Measured on the bench UNet's largest conv (16 x 64 x 32 x 32, 3x3, 2 threads): forward 8.6 ms,
 * input gradient 8.3 ms (ConvTranspose: 12.2), weight gradient as im2col + one GEMM 12.8 ms (the
 * conv-with-dY trick: 29.7); the shifted frames below then took the whole bench UNet's gradient
 * graph from 855 to 805 ms.
 */
import { GraphBuilder, type Attr } from '../../onnx/graph';
import { NCHWC_DOMAIN } from '../../onnx/nchwc';
import type { OpSink } from '../../onnx/unet-graph';

interface TapeEntry {
  opType: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, Attr>;
  name: string;
  /** a Conv emitted as ONNX Runtime's NCHWc kernels (DiffGraphOptions.nchwcBlock); its stride-1
   *  input gradient then runs on them too */
  nchwc?: true;
}

export interface DiffGraphOptions {
  /**
   * ONNX Runtime's CPU NCHWc block size (onnx/nchwc.ts nchwcBlockSize: 16 with AVX-512, 8 with
   * AVX2; 0 or absent: off). Convolutions whose input and output channels are multiples of it
   * then run as ReorderInput → com.microsoft.nchwc Conv → ReorderOutput, the direct blocked-layout
   * kernels ORT itself uses at inference (only for constant weights, so never in a training graph
   * where the weights are inputs); the weight is reordered in the graph each step (OIHWBiBo), and
   * the stride-1 input gradient, itself a convolution, runs the same way with a kernel derived
   * from the forward's blocked weight. Measured on the bench
   * UNet's shapes (docs/design-notes.md §One-graph training step): 17–34% faster convolutions with
   * the reorders included. CPU provider only: no other provider has these kernels.
   */
  nchwcBlock?: number;
}

type Vjp = (g: DiffGraph, e: TapeEntry, dOut: (string | undefined)[]) => (string | undefined)[];

const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const ints = (a: Attr | undefined, fallback: number[]): number[] => (Array.isArray(a) ? a : fallback);

/** NumPy broadcasting of two shapes (ONNX multidirectional broadcasting). */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new Error(`DiffGraph: shapes [${a.join(', ')}] and [${b.join(', ')}] do not broadcast`);
    out.push(x === 1 ? y : x);
  }
  return out;
}

export class DiffGraph implements OpSink {
  readonly b = new GraphBuilder();
  /** whether a node of NCHWC_DOMAIN was emitted (the model must import that domain) */
  usesNchwc = false;
  private readonly shapes = new Map<string, number[]>();
  /** contents of constants (reshape targets, split sizes, scales) */
  private readonly consts = new Map<string, readonly number[]>();
  /** values that depend on a differentiable input */
  private readonly live = new Set<string>();
  private readonly tape: TapeEntry[] = [];
  private readonly producer = new Map<string, TapeEntry>();

  /** A graph input with an exact name (when free) and static dims; `differentiable` ones get adjoints. */
  input(name: string, dims: number[], differentiable: boolean): string {
    const v = this.b.fresh(name);
    this.shapes.set(v, dims.slice());
    if (differentiable) this.live.add(v);
    return v;
  }

  shape(v: string): number[] {
    const s = this.shapes.get(v);
    if (!s) throw new Error(`DiffGraph: no static shape for ${v}`);
    return s;
  }

  isLive(v: string): boolean {
    return this.live.has(v);
  }

  constant(kind: 'int64' | 'float', values: readonly number[], dims: number[] = [values.length]): string {
    const v = this.b.constant(kind, values, dims);
    this.shapes.set(v, dims.slice());
    this.consts.set(v, values.slice());
    return v;
  }

  private constValues(v: string, what: string): readonly number[] {
    const c = this.consts.get(v);
    if (!c) throw new Error(`DiffGraph: ${what} must be a constant`);
    return c;
  }

  constructor(readonly options: DiffGraphOptions = {}) {}

  op(opType: string, inputs: string[], attrs: Record<string, Attr> = {}, name = opType): string {
    return this.opN(opType, inputs, 1, attrs, name)[0];
  }

  opN(opType: string, inputs: string[], outputs: number, attrs: Record<string, Attr> = {}, name = opType): string[] {
    const shapes = this.infer(opType, inputs, outputs, attrs);
    const nchwc = opType === 'Conv' && this.nchwcFits(this.shape(inputs[1]), attrs) ? this.blockWeight(inputs[1], this.shape(inputs[1]), name) : undefined;
    const outs = nchwc ? [this.nchwcConv(inputs[0], nchwc, this.shape(inputs[1]), inputs[2], attrs, name)] : this.b.opN(opType, inputs, outputs, attrs, name);
    outs.forEach((o, i) => this.shapes.set(o, shapes[i]));
    if (inputs.some((i) => this.live.has(i))) {
      const entry: TapeEntry = { opType, inputs, outputs: outs, attrs, name, ...(nchwc ? { nchwc: true as const } : {}) };
      this.tape.push(entry);
      for (const o of outs) {
        this.live.add(o);
        this.producer.set(o, entry);
      }
    }
    return outs;
  }

  /** An untracked node (backward pass and loss plumbing): no shape, no tape. */
  raw(opType: string, inputs: string[], attrs: Record<string, Attr> = {}, name = opType): string {
    return this.b.op(opType, inputs, attrs, name);
  }

  /** Whether a Conv with weight shape [Co, Ci, kh, kw] and these attributes runs as NCHWc kernels. */
  nchwcFits([co, ci]: readonly number[], attrs: Record<string, Attr>): boolean {
    const B = this.options.nchwcBlock ?? 0;
    const plain = (attrs.group === undefined || attrs.group === 1) && ints(attrs.dilations, [1, 1]).every((d) => d === 1) && attrs.auto_pad === undefined;
    return B > 1 && plain && co % B === 0 && ci % B === 0;
  }

  /** An OIHW weight [Co, Ci, kh, kw] in ORT's NCHWc filter order OIHWBiBo: w[o][i][ky][kx] at
   *  [o/B][i/B][ky][kx][i%B][o%B] (the order its own NCHWc transformer writes), as
   *  [Co/B·Ci/B, kh·kw, B, B]. */
  blockWeight(w: string, [co, ci, kh, kw]: readonly number[], name: string): string {
    const B = this.options.nchwcBlock!;
    const i64 = (...v: number[]) => this.constant('int64', v);
    // Two transposes instead of one 6-D permutation that moves the innermost axis, which ORT
    // runs element by element (~2x slower on the bench UNet's weights; design-notes §One-graph
    // training step): move o%B to the end ([o/B][o%B][i·k²] -> [o/B][i·k²][o%B]), then swap i%B
    // and the taps, moving runs of B values.
    const inner = this.raw('Transpose', [this.raw('Reshape', [w, i64(co / B, B, ci * kh * kw)], {}, `${name}/w_rows`)], { perm: [0, 2, 1] }, `${name}/w_bo_last`);
    return this.raw('Transpose', [this.raw('Reshape', [inner, i64((co / B) * (ci / B), B, kh * kw, B)], {}, `${name}/w_blocks`)], { perm: [0, 2, 1, 3] }, `${name}/w_oihwbibo`);
  }

  /**
   * y = Conv(x, w, bias) (NCHW in and out, ONNX Conv attributes) on ORT's NCHWc kernels, given the
   * weight already in the blocked order (blockWeight): x to the blocked layout [N, C/B, H, W, B],
   * the blocked convolution, then back.
   */
  nchwcConv(x: string, blocked: string, [co, ci, kh, kw]: readonly number[], bias: string | undefined, attrs: Record<string, Attr>, name: string): string {
    const wr = this.raw('Reshape', [blocked, this.constant('int64', [co, ci, kh, kw])], {}, `${name}/w_nchwc`);
    const contrib = (opType: string, inputs: string[], a: Record<string, Attr>, hint: string) => {
      const out = this.b.op(opType, inputs, a, hint);
      this.b.nodes[this.b.nodes.length - 1].domain = NCHWC_DOMAIN;
      return out;
    };
    this.usesNchwc = true;
    const keep = Object.fromEntries(Object.entries(attrs).filter(([k]) => ['kernel_shape', 'pads', 'strides'].includes(k)));
    const xb = contrib('ReorderInput', [x], {}, `${name}/nchwc_in`);
    const yb = contrib('Conv', bias ? [xb, wr, bias] : [xb, wr], keep, `${name}/nchwc`);
    return contrib('ReorderOutput', [yb], { channels: co }, name);
  }

  private infer(opType: string, inputs: string[], outputs: number, attrs: Record<string, Attr>): number[][] {
    const s = (i: number) => this.shape(inputs[i]);
    switch (opType) {
      case 'Conv': {
        const [N, , H, W] = s(0);
        const [Co, , kh, kw] = s(1);
        const st = ints(attrs.strides, [1, 1]);
        const p = ints(attrs.pads, [0, 0, 0, 0]);
        return [[N, Co, Math.floor((H + p[0] + p[2] - kh) / st[0]) + 1, Math.floor((W + p[1] + p[3] - kw) / st[1]) + 1]];
      }
      case 'Gemm': {
        const a = s(0);
        const b = s(1);
        const M = attrs.transA === 1 ? a[1] : a[0];
        const N = attrs.transB === 1 ? b[0] : b[1];
        return [[M, N]];
      }
      case 'MatMul': {
        const a = s(0);
        const b = s(1);
        if (a.length !== b.length || a.length < 2) throw new Error('DiffGraph: MatMul needs operands of equal rank ≥ 2');
        return [[...broadcastShapes(a.slice(0, -2), b.slice(0, -2)), a[a.length - 2], b[b.length - 1]]];
      }
      case 'Add':
      case 'Sub':
      case 'Mul':
      case 'Div':
        return [broadcastShapes(s(0), s(1))];
      case 'Sigmoid':
      case 'Sin':
      case 'Cos':
      case 'Neg':
      case 'Softmax':
      case 'InstanceNormalization':
      case 'Identity':
        return [s(0).slice()];
      case 'LayerNormalization': {
        const x = s(0);
        const r = x.length;
        const axis = (((attrs.axis as number) ?? -1) + r) % r;
        const stat = x.map((d, i) => (i < axis ? d : 1));
        return [x.slice(), stat, stat.slice()].slice(0, outputs);
      }
      case 'Reshape': {
        const x = s(0);
        const target = this.constValues(inputs[1], 'a Reshape target').map((d, i) => (d === 0 ? x[i] : d));
        const known = numel(target.filter((d) => d !== -1));
        return [target.map((d) => (d === -1 ? numel(x) / known : d))];
      }
      case 'Unsqueeze': {
        const out = s(0).slice();
        for (const a of [...this.constValues(inputs[1], 'Unsqueeze axes')].sort((p, q) => p - q)) out.splice(a < 0 ? out.length + a + 1 : a, 0, 1);
        return [out];
      }
      case 'Concat': {
        const r = s(0).length;
        const axis = ((attrs.axis as number) + r) % r;
        const out = s(0).slice();
        out[axis] = inputs.reduce((acc, v) => acc + this.shape(v)[axis], 0);
        return [out];
      }
      case 'Split': {
        const x = s(0);
        const axis = ((attrs.axis as number) + x.length) % x.length;
        const sizes = this.constValues(inputs[1], 'Split sizes');
        if (sizes.length !== outputs) throw new Error('DiffGraph: Split sizes and outputs disagree');
        return sizes.map((n) => x.map((d, i) => (i === axis ? n : d)));
      }
      case 'Transpose': {
        const x = s(0);
        return [ints(attrs.perm, x.map((_, i) => x.length - 1 - i)).map((p) => x[p])];
      }
      case 'Resize': {
        const scales = this.constValues(inputs[2], 'Resize scales');
        return [s(0).map((d, i) => Math.floor(d * scales[i]))];
      }
      default:
        throw new Error(`DiffGraph: no shape rule for ${opType}`);
    }
  }

  /**
   * Emits the adjoints: `seeds` maps values to their adjoint values (e.g. the network output to
   * ∂loss/∂output); returns the adjoint value of each of `wrt` (w·0 for one that got none: its
   * gradient is exactly zero). Every consumer of a live value is on the tape, so a value's adjoint
   * is complete when the reverse walk reaches its producer.
   */
  backward(seeds: ReadonlyMap<string, string>, wrt: readonly string[]): string[] {
    const parts = new Map<string, string[]>();
    const totals = new Map<string, string>();
    for (const [v, g] of seeds) parts.set(v, [g]);
    const total = (v: string): string | undefined => {
      const done = totals.get(v);
      if (done) return done;
      const p = parts.get(v);
      if (!p?.length) return undefined;
      // a left fold of Adds, not one Sum: WebGPU has no Sum kernel (it would fall back to CPU
      // with copies each step); ORT's CPU Sum adds in the same order, so CPU numbers are unchanged
      let t = p[0];
      for (let k = 1; k < p.length; k++) t = this.raw('Add', [t, p[k]], {}, `${v}/adj${p.length > 2 ? k : ''}`);
      totals.set(v, t);
      return t;
    };
    for (let i = this.tape.length - 1; i >= 0; i--) {
      const e = this.tape[i];
      const dOut = e.outputs.map(total);
      if (dOut.every((d) => d === undefined)) continue;
      const rule = VJPS[e.opType];
      if (!rule) throw new Error(`DiffGraph: no gradient rule for ${e.opType} (${e.name})`);
      const dIn = rule(this, e, dOut);
      e.inputs.forEach((v, k) => {
        const d = dIn[k];
        if (d === undefined || !this.live.has(v)) return;
        const list = parts.get(v);
        if (list) list.push(d);
        else parts.set(v, [d]);
      });
    }
    return wrt.map((w) => total(w) ?? this.raw('Mul', [w, this.constant('float', [0], [])], {}, `${w}/zero_grad`));
  }

  /** ∂ of a broadcast op's input: sum the adjoint over the broadcast axes, back to `to`. */
  unbroadcast(d: string, from: readonly number[], to: readonly number[], hint: string): string {
    if (from.length === to.length && from.every((x, i) => x === to[i])) return d;
    const lead = from.length - to.length;
    const axes: number[] = [];
    for (let i = 0; i < from.length; i++) if (i < lead || (to[i - lead] === 1 && from[i] !== 1)) axes.push(i);
    let r = axes.length ? this.raw('ReduceSum', [d, this.constant('int64', axes)], { keepdims: 1 }, `${hint}/unbroadcast`) : d;
    if (lead > 0) r = this.raw('Reshape', [r, this.constant('int64', to)], {}, `${hint}/unbroadcast_shape`);
    return r;
  }

  /** Whether v is the output of a tape op of type `opType` whose first input is `input`. */
  producedBy(v: string, opType: string, input: string): boolean {
    const p = this.producer.get(v);
    return !!p && p.opType === opType && p.inputs[0] === input;
  }
}

const T = (g: DiffGraph, v: string, perm: number[], hint: string) => g.raw('Transpose', [v], { perm }, hint);

const swapLast = (rank: number) => [...Array.from({ length: rank - 2 }, (_, i) => i), rank - 1, rank - 2];
const i64 = (g: DiffGraph, ...v: number[]) => g.constant('int64', v);

/** Stride-1 convolutions with at most this many output pixels take smallConvWeightGrad. */
const GATHER_MAX_PIXELS = 64;

/**
 * Weight gradient of a stride-1 Conv with fewer output than input channels (the decoder's
 * convolutions over concatenated skips), shifting dY instead of x. From the definition
 * y[n,o,h,w] = Σ W[o,i,ky,kx]·x[n,i,h+ky-p0,w+kx-p1] (ONNX Conv, zero padding), substituting
 * h' = h + ky - p0 and w' = w + kx - p1:
 *   dW[:, :, ky, kx] = Σ_{n,h',w'} dY[n, :, h' - ky + p0, w' - kx + p1] · x[n, :, h', w']ᵀ
 * with dY zero outside its Ho x Wo. Each tap is one zero-filled shift of dY (a Pad whose negative
 * pads crop) and one GEMM against the unpadded x, over exactly N·H·W positions: copies of the
 * smaller operand, no frame padding (design-notes §One-graph training step has the timings).
 */
function shiftedDyWeightGrad(g: DiffGraph, name: string, x: string, dy: string, [N, Ci, H, W]: number[], [Co, kh, kw]: number[], [Ho, Wo]: number[], p: number[]): string {
  const x2d = g.raw('Reshape', [T(g, x, [1, 0, 2, 3], `${name}/xT`), i64(g, Ci, N * H * W)], {}, `${name}/x2d`);
  const dyT = T(g, dy, [1, 0, 2, 3], `${name}/dyT`); // [Co, N, Ho, Wo]
  const perTap: string[] = [];
  for (let ky = 0; ky < kh; ky++) {
    for (let kx = 0; kx < kw; kx++) {
      const [b0, b1] = [ky - p[0], kx - p[1]];
      const [e0, e1] = [H - Ho - b0, W - Wo - b1];
      const shifted = b0 || b1 || e0 || e1 ? g.raw('Pad', [dyT, i64(g, 0, 0, b0, b1, 0, 0, e0, e1)], {}, `${name}/dyshift`) : dyT;
      const rows = g.raw('Reshape', [shifted, i64(g, Co, N * H * W)], {}, `${name}/dyrows`);
      perTap.push(g.raw('Unsqueeze', [g.raw('Gemm', [rows, x2d], { transB: 1 }, `${name}/dwtap`), i64(g, 2)], {}, `${name}/dwtap1`));
    }
  }
  return g.raw('Reshape', [g.raw('Concat', perTap, { axis: 2 }, `${name}/dwtaps`), i64(g, Co, Ci, kh, kw)], {}, `${name}/dw`);
}

/**
 * Weight gradient of a small stride-1 convolution (≤ 8x8 outputs) as one Gather and one GEMM:
 * position-major columns cols[(n, h, w), (ky, kx, ci)] = x_pad[n, h+ky, w+kx, ci] gathered as whole
 * rows of the padded NHWC input, then dW[co, (ky, kx, ci)] = dYᵀ · cols. At these sizes the
 * shifted frames' k² GEMMs are tiny and their padding wastes up to 56% of the work (10x10 frames
 * for 8x8 outputs); measured on the bench UNet's 8x8 convolutions (2 threads) this takes 1.3–1.9 ms
 * against 2.1–3.8 ms for 128 -> 128 channels.
 */
function smallConvWeightGrad(g: DiffGraph, name: string, x: string, dy: string, [N, Ci, H, W]: number[], [Co, kh, kw]: number[], [Ho, Wo]: number[], p: number[]): string {
  const Hp = H + p[0] + p[2];
  const Wp = W + p[1] + p[3];
  const xRows = g.raw('Reshape', [g.raw('Pad', [T(g, x, [0, 2, 3, 1], `${name}/xT_nhwc`), i64(g, 0, p[0], p[1], 0, 0, p[2], p[3], 0)], {}, `${name}/xpad_nhwc`), i64(g, N * Hp * Wp, Ci)], {}, `${name}/xpad_rows`);
  const rows: number[] = [];
  for (let n = 0; n < N; n++) for (let h = 0; h < Ho; h++) for (let w = 0; w < Wo; w++) for (let ky = 0; ky < kh; ky++) for (let kx = 0; kx < kw; kx++) rows.push((n * Hp + h + ky) * Wp + w + kx);
  const cols = g.raw('Reshape', [g.raw('Gather', [xRows, g.constant('int64', rows)], { axis: 0 }, `${name}/im2col`), i64(g, N * Ho * Wo, kh * kw * Ci)], {}, `${name}/cols`);
  const dyRows = g.raw('Reshape', [T(g, dy, [0, 2, 3, 1], `${name}/dyT_nhwc`), i64(g, N * Ho * Wo, Co)], {}, `${name}/dy2d`);
  const dw = g.raw('Gemm', [dyRows, cols], { transA: 1 }, `${name}/dw2d`); // [Co, (ky, kx, ci)]
  return T(g, g.raw('Reshape', [dw, i64(g, Co, kh, kw, Ci)], {}, `${name}/dw4`), [0, 3, 1, 2], `${name}/dw`);
}

const VJPS: Record<string, Vjp> = {
  Add(g, e, [dy]) {
    const y = g.shape(e.outputs[0]);
    return e.inputs.map((v, k) => (g.isLive(v) ? g.unbroadcast(dy!, y, g.shape(v), `${e.name}/d${k}`) : undefined));
  },
  Sub(g, e, [dy]) {
    const y = g.shape(e.outputs[0]);
    const [a, b] = e.inputs;
    return [
      g.isLive(a) ? g.unbroadcast(dy!, y, g.shape(a), `${e.name}/d0`) : undefined,
      g.isLive(b) ? g.unbroadcast(g.raw('Neg', [dy!], {}, `${e.name}/neg`), y, g.shape(b), `${e.name}/d1`) : undefined,
    ];
  },
  Mul(g, e, [dy]) {
    const y = g.shape(e.outputs[0]);
    const [a, b] = e.inputs;
    // SiLU y = x·σ(x) (Elfwing et al. 2018): dy/dx = σ + x·σ·(1 - σ) = σ + y·(1 - σ), from the
    // forward's own outputs: one adjoint, four elementwise passes (the generic rules take six)
    if (g.producedBy(b, 'Sigmoid', a)) {
      const one = g.constant('float', [1], []);
      const slope = g.raw('Add', [b, g.raw('Mul', [e.outputs[0], g.raw('Sub', [one, b], {}, `${e.name}/1ms`)], {}, `${e.name}/y1ms`)], {}, `${e.name}/dsilu`);
      return [g.raw('Mul', [dy!, slope], {}, `${e.name}/dx`), undefined];
    }
    return [
      g.isLive(a) ? g.unbroadcast(g.raw('Mul', [dy!, b], {}, `${e.name}/da`), y, g.shape(a), `${e.name}/d0`) : undefined,
      g.isLive(b) ? g.unbroadcast(g.raw('Mul', [dy!, a], {}, `${e.name}/db`), y, g.shape(b), `${e.name}/d1`) : undefined,
    ];
  },
  Sigmoid(g, e, [dy]) {
    // σ' = σ(1 - σ)
    const y = e.outputs[0];
    const one = g.constant('float', [1], []);
    return [g.raw('Mul', [dy!, g.raw('Mul', [y, g.raw('Sub', [one, y], {}, `${e.name}/1my`)], {}, `${e.name}/dsig`)], {}, `${e.name}/dx`)];
  },
  Identity: (_g, _e, [dy]) => [dy],
  Reshape: (g, e, [dy]) => [g.raw('Reshape', [dy!, g.constant('int64', g.shape(e.inputs[0]))], {}, `${e.name}/dx`), undefined],
  Unsqueeze: (g, e, [dy]) => [g.raw('Reshape', [dy!, g.constant('int64', g.shape(e.inputs[0]))], {}, `${e.name}/dx`), undefined],
  Transpose(g, e, [dy]) {
    const rank = g.shape(e.inputs[0]).length;
    const perm = ints(e.attrs.perm, Array.from({ length: rank }, (_, i) => rank - 1 - i));
    const inv = new Array<number>(rank);
    perm.forEach((p, i) => (inv[p] = i));
    return [T(g, dy!, inv, `${e.name}/dx`)];
  },
  Concat(g, e, [dy]) {
    const r = g.shape(e.inputs[0]).length;
    const axis = ((e.attrs.axis as number) + r) % r;
    const sizes = e.inputs.map((v) => g.shape(v)[axis]);
    const outs = g.b.opN('Split', [dy!, i64(g, ...sizes)], e.inputs.length, { axis }, `${e.name}/dx`);
    return outs.map((o, k) => (g.isLive(e.inputs[k]) ? o : undefined));
  },
  Split(g, e, dys) {
    const x = g.shape(e.inputs[0]);
    const axis = ((e.attrs.axis as number) + x.length) % x.length;
    const parts = dys.map((d, k) => d ?? g.raw('ConstantOfShape', [g.constant('int64', g.shape(e.outputs[k]))], {}, `${e.name}/zeros`));
    return [g.raw('Concat', parts, { axis }, `${e.name}/dx`), undefined];
  },
  MatMul(g, e, [dy]) {
    // C = A B: dA = dC Bᵀ, dB = Aᵀ dC (operands of equal batch shape)
    const [a, b] = e.inputs;
    const rank = g.shape(a).length;
    return [
      g.isLive(a) ? g.raw('MatMul', [dy!, T(g, b, swapLast(rank), `${e.name}/bT`)], {}, `${e.name}/da`) : undefined,
      g.isLive(b) ? g.raw('MatMul', [T(g, a, swapLast(rank), `${e.name}/aT`), dy!], {}, `${e.name}/db`) : undefined,
    ];
  },
  Softmax(g, e, [dy]) {
    // dx = y ⊙ (dy - Σ_j dy_j y_j) along the softmax axis
    const y = e.outputs[0];
    const rank = g.shape(y).length;
    const axis = (((e.attrs.axis as number) ?? -1) + rank) % rank;
    const dot = g.raw('ReduceSum', [g.raw('Mul', [dy!, y], {}, `${e.name}/dyy`), i64(g, axis)], { keepdims: 1 }, `${e.name}/dot`);
    return [g.raw('Mul', [y, g.raw('Sub', [dy!, dot], {}, `${e.name}/centred`)], {}, `${e.name}/dx`)];
  },
  InstanceNormalization(g, e, [dy]) {
    // y = (x - μ)/√(σ² + ε) over axes ≥ 2 with scale 1, bias 0 (the GroupNorm lowering):
    // dx = (dy - mean(dy) - y·mean(dy·y)) / √(σ² + ε)  (Ioffe & Szegedy 2015, §3, per instance)
    const [x, scale, bias] = e.inputs;
    if (g.isLive(scale) || g.isLive(bias)) throw new Error('DiffGraph: InstanceNormalization with a trained scale or bias has no gradient rule');
    const rank = g.shape(x).length;
    const axes = Array.from({ length: rank - 2 }, (_, i) => i + 2);
    const eps = e.attrs.epsilon as { float: number };
    const mean = (v: string, hint: string) => g.raw('ReduceMean', [v], { axes, keepdims: 1 }, `${e.name}/${hint}`);
    const y = e.outputs[0];
    const xc = g.raw('Sub', [x, mean(x, 'mu')], {}, `${e.name}/xc`);
    const variance = mean(g.raw('Mul', [xc, xc], {}, `${e.name}/xc2`), 'var');
    const rstd = g.raw('Reciprocal', [g.raw('Sqrt', [g.raw('Add', [variance, g.constant('float', [eps.float], [])], {}, `${e.name}/vare`)], {}, `${e.name}/std`)], {}, `${e.name}/rstd`);
    const centred = g.raw('Sub', [dy!, mean(dy!, 'mdy')], {}, `${e.name}/dyc`);
    const proj = g.raw('Mul', [y, mean(g.raw('Mul', [dy!, y], {}, `${e.name}/dyy`), 'mdyy')], {}, `${e.name}/proj`);
    return [g.raw('Mul', [g.raw('Sub', [centred, proj], {}, `${e.name}/num`), rstd], {}, `${e.name}/dx`), undefined, undefined];
  },
  LayerNormalization(g, e, [dy]) {
    // y = (x - μ)·r over axes ≥ axis, r = 1/√(σ² + ε) its third output; scale 1, bias 0 (the
    // GroupNorm lowering): dx = r·(dy - mean(dy) - y·mean(dy·y))  (Ba et al. 2016 / Ioffe & Szegedy 2015)
    const [x, scale, bias] = e.inputs;
    if (g.isLive(scale) || g.isLive(bias) || e.outputs.length < 3) throw new Error('DiffGraph: LayerNormalization gradient needs a constant scale and bias and the InvStdDev output');
    const rank = g.shape(x).length;
    const axis = (((e.attrs.axis as number) ?? -1) + rank) % rank;
    const axes = Array.from({ length: rank - axis }, (_, i) => i + axis);
    const mean = (v: string, hint: string) => g.raw('ReduceMean', [v], { axes, keepdims: 1 }, `${e.name}/${hint}`);
    const [y, , rstd] = e.outputs;
    const centred = g.raw('Sub', [dy!, mean(dy!, 'mdy')], {}, `${e.name}/dyc`);
    const proj = g.raw('Mul', [y, mean(g.raw('Mul', [dy!, y], {}, `${e.name}/dyy`), 'mdyy')], {}, `${e.name}/proj`);
    return [g.raw('Mul', [g.raw('Sub', [centred, proj], {}, `${e.name}/num`), rstd], {}, `${e.name}/dx`), undefined, undefined];
  },
  Resize(g, e, [dy]) {
    // nearest, integer scales: each input pixel fed a (sh x sw) block of outputs -> sum over blocks
    const x = g.shape(e.inputs[0]);
    const y = g.shape(e.outputs[0]);
    if (e.attrs.mode !== 'nearest' || x.length !== 4 || y[0] !== x[0] || y[1] !== x[1] || y[2] % x[2] || y[3] % x[3]) throw new Error(`DiffGraph: Resize gradient needs nearest mode with integer spatial scales (${e.name})`);
    const [N, C, H, W] = x;
    const blocks = g.raw('Reshape', [dy!, i64(g, N, C, H, y[2] / H, W, y[3] / W)], {}, `${e.name}/blocks`);
    return [g.raw('ReduceSum', [blocks, i64(g, 3, 5)], { keepdims: 0 }, `${e.name}/dx`), undefined, undefined];
  },
  Gemm(g, e, [dy]) {
    // y = x Wᵀ + b (transB = 1, the Linear layout): dx = dy W, dW = dyᵀ x, db = Σ_rows dy
    if (e.attrs.transA === 1 || e.attrs.transB !== 1) throw new Error(`DiffGraph: Gemm gradient implemented for transA=0, transB=1 (${e.name})`);
    const [x, w, bias] = e.inputs;
    return [
      g.isLive(x) ? g.raw('MatMul', [dy!, w], {}, `${e.name}/dx`) : undefined,
      g.isLive(w) ? g.raw('Gemm', [dy!, x], { transA: 1 }, `${e.name}/dw`) : undefined,
      bias && g.isLive(bias) ? g.raw('ReduceSum', [dy!, i64(g, 0)], { keepdims: 0 }, `${e.name}/db`) : undefined,
    ];
  },
  Conv(g, e, [dy]) {
    const [x, w, bias] = e.inputs;
    const [N, Ci, H, W] = g.shape(x);
    const [Co, wci, kh, kw] = g.shape(w);
    const [, , Ho, Wo] = g.shape(e.outputs[0]);
    const [sh, sw] = ints(e.attrs.strides, [1, 1]);
    const p = ints(e.attrs.pads, [0, 0, 0, 0]);
    if (wci !== Ci || (e.attrs.group !== undefined && e.attrs.group !== 1) || (Array.isArray(e.attrs.dilations) && e.attrs.dilations.some((d) => d !== 1))) {
      throw new Error(`DiffGraph: Conv gradient implemented for group 1, dilation 1 (${e.name})`);
    }
    if (p[0] !== p[2] || p[1] !== p[3]) throw new Error(`DiffGraph: Conv gradient implemented for symmetric padding (${e.name})`);
    const out: (string | undefined)[] = [undefined, undefined, undefined];
    if (bias && g.isLive(bias)) out[2] = g.raw('ReduceSum', [dy!, i64(g, 0, 2, 3)], { keepdims: 0 }, `${e.name}/db`);
    if (g.isLive(w)) {
      const dyT = () => g.raw('Reshape', [T(g, dy!, [1, 0, 2, 3], `${e.name}/dyT`), i64(g, Co, -1)], {}, `${e.name}/dy2d`);
      const xT = () => T(g, x, [1, 0, 2, 3], `${e.name}/xT`); // [Ci, N, H, W]
      let cols: string;
      if (kh === 1 && kw === 1 && sh === 1 && sw === 1 && p[0] === 0 && p[1] === 0) cols = g.raw('Reshape', [xT(), i64(g, Ci, -1)], {}, `${e.name}/x2d`);
      else if (sh === 1 && sw === 1 && Ho * Wo <= GATHER_MAX_PIXELS) {
        out[1] = smallConvWeightGrad(g, e.name, x, dy!, [N, Ci, H, W], [Co, kh, kw], [Ho, Wo], p);
        cols = '';
      } else if (sh === 1 && sw === 1 && Co < Ci) {
        out[1] = shiftedDyWeightGrad(g, e.name, x, dy!, [N, Ci, H, W], [Co, kh, kw], [Ho, Wo], p);
        cols = '';
      } else if (sh === 1 && sw === 1) {
        // Stride 1: shifted flat frames instead of im2col. Pad x to frames of Hp x Wp and put dY
        // at the top-left of the same frames (zeros elsewhere); flattened over (n, row, col), tap
        // (ky, kx) of the input is then the contiguous window starting at ky·Wp + kx: every
        // position where dY is non-zero reads x_pad[n, h+ky, w+kx], and the rest meets dY's zeros.
        // dW[:, :, ky, kx] = dY_frames · window(ky, kx)ᵀ: k² GEMMs on contiguous slices (one
        // memcpy per channel), no k²-fold im2col concat. Costs (Hp·Wp)/(Ho·Wo) more FLOPs.
        const Hp = H + p[0] + p[2];
        const Wp = W + p[1] + p[3];
        const F = Hp * Wp;
        const K = (N - 1) * F + (Ho - 1) * Wp + Wo;
        const dyFrames = g.raw('Pad', [T(g, dy!, [1, 0, 2, 3], `${e.name}/dyT`), i64(g, 0, 0, 0, 0, 0, 0, Hp - Ho, Wp - Wo)], {}, `${e.name}/dypad`);
        const dyFlat = g.raw('Slice', [g.raw('Reshape', [dyFrames, i64(g, Co, N * F)], {}, `${e.name}/dyframes`), i64(g, 0), i64(g, K), i64(g, 1)], {}, `${e.name}/dyflat`);
        const xFlat = g.raw('Reshape', [g.raw('Pad', [xT(), i64(g, 0, 0, p[0], p[1], 0, 0, p[2], p[3])], {}, `${e.name}/xpad`), i64(g, Ci, N * F)], {}, `${e.name}/xframes`);
        const perTap: string[] = [];
        for (let ky = 0; ky < kh; ky++) {
          for (let kx = 0; kx < kw; kx++) {
            const o = ky * Wp + kx;
            const win = g.raw('Slice', [xFlat, i64(g, o), i64(g, o + K), i64(g, 1)], {}, `${e.name}/tap`);
            perTap.push(g.raw('Unsqueeze', [g.raw('Gemm', [dyFlat, win], { transB: 1 }, `${e.name}/dwtap`), i64(g, 2)], {}, `${e.name}/dwtap1`));
          }
        }
        out[1] = g.raw('Reshape', [g.raw('Concat', perTap, { axis: 2 }, `${e.name}/dwtaps`), i64(g, Co, Ci, kh, kw)], {}, `${e.name}/dw`);
        cols = '';
      } else {
        const xt = xT();
        const xp = p[0] || p[1] ? g.raw('Pad', [xt, i64(g, 0, 0, p[0], p[1], 0, 0, p[2], p[3])], {}, `${e.name}/xpad`) : xt;
        const taps: string[] = [];
        for (let ky = 0; ky < kh; ky++) {
          for (let kx = 0; kx < kw; kx++) {
            const tap = g.raw('Slice', [xp, i64(g, ky, kx), i64(g, ky + sh * (Ho - 1) + 1, kx + sw * (Wo - 1) + 1), i64(g, 2, 3), i64(g, sh, sw)], {}, `${e.name}/tap`);
            taps.push(g.raw('Unsqueeze', [tap, i64(g, 1)], {}, `${e.name}/tap1`));
          }
        }
        // [Ci, k·k, N, Ho, Wo] -> rows (ci, ky, kx), the OIHW order of the weight
        cols = g.raw('Reshape', [g.raw('Concat', taps, { axis: 1 }, `${e.name}/im2col`), i64(g, Ci * kh * kw, -1)], {}, `${e.name}/cols`);
      }
      if (cols) out[1] = g.raw('Reshape', [g.raw('Gemm', [dyT(), cols], { transB: 1 }, `${e.name}/dw2d`), i64(g, Co, Ci, kh, kw)], {}, `${e.name}/dw`);
    }
    if (g.isLive(x)) {
      if (sh === 1 && sw === 1) {
        // correlation with the flipped kernel, in/out channels swapped: [Ci, Co, kh, kw]
        const flip = (v: string, axes: number[], hint: string) => (kh > 1 || kw > 1 ? g.raw('Slice', [v, i64(g, -1, -1), i64(g, -(2 ** 31), -(2 ** 31)), i64(g, ...axes), i64(g, -1, -1)], {}, hint) : v);
        const q = [kh - 1 - p[0], kw - 1 - p[1]];
        const attrs = { kernel_shape: [kh, kw], pads: [q[0], q[1], q[0], q[1]] };
        if (e.nchwc) {
          // The input gradient's kernel in its own blocked order [Ci/B][Co/B][taps reversed][o%B][i%B],
          // from the OIHW weight in two passes ORT runs fast (design-notes §One-graph training step):
          // a plain 2-D transpose [Co·Ci, k²] -> [k², Co·Ci] (MLAS's tiled transpose), the taps
          // reversed (whole rows), then a permutation that keeps runs of B values (i%B) contiguous.
          // Deriving it from the forward's blocked weight instead needs a B x B swap inside every
          // run, which ORT does element by element (~6x slower on the bench UNet's weights).
          const B = g.options.nchwcBlock!;
          const kk = kh * kw;
          let taps = g.raw('Reshape', [w, i64(g, Co * Ci, kk)], {}, `${e.name}/dx/w_rows`);
          if (kk > 1) {
            taps = T(g, taps, [1, 0], `${e.name}/dx/w_taps`);
            taps = g.raw('Slice', [taps, i64(g, -1), i64(g, -(2 ** 31)), i64(g, 0), i64(g, -1)], {}, `${e.name}/dx/w_flip`);
          }
          const blocked = T(g, g.raw('Reshape', [taps, i64(g, kk, Co / B, B, Ci / B, B)], {}, `${e.name}/dx/w_split`), [3, 1, 0, 2, 4], `${e.name}/dx/w_blocked`);
          out[0] = g.nchwcConv(dy!, blocked, [Ci, Co, kh, kw], undefined, attrs, `${e.name}/dx`);
        } else out[0] = g.raw('Conv', [dy!, flip(T(g, w, [1, 0, 2, 3], `${e.name}/wT`), [2, 3], `${e.name}/wflip`)], attrs, `${e.name}/dx`);
      } else {
        const op = [H - ((Ho - 1) * sh - 2 * p[0] + kh), W - ((Wo - 1) * sw - 2 * p[1] + kw)];
        out[0] = g.raw('ConvTranspose', [dy!, w], { kernel_shape: [kh, kw], strides: [sh, sw], pads: p, output_padding: op }, `${e.name}/dx`);
      }
    }
    return out;
  },
};
