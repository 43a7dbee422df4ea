/**
 * Vector-Jacobian products of DiffGraph (training/onnx/autodiff.ts) on single ops, run on ONNX
 * Runtime: convolutions against a naive float64 implementation of the definition (every
 * formulation: stride-1 shifted frames, stride-1 shifted dY (fewer output than input channels),
 * the ≤ 8x8 Gather, stride-2 im2col and ConvTranspose, 1x1 GEMM; and on ORT's NCHWc kernels), the other ops against central finite differences of the
 * graph's own forward pass.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { normals } from '../../../../src-main/diffusion/index';
import { valueInfo, type Attr } from '../../../../src-main/onnx/graph';
import { DataType, encodeModel } from '../../../../src-main/onnx/proto';
import { NCHWC_DOMAIN, nchwcBlockSize } from '../../../../src-main/onnx/nchwc';
import { DiffGraph, type DiffGraphOptions } from '../../../../src-main/training/onnx/autodiff';

interface Case {
  inputs: { name: string; dims: number[]; grad: boolean }[];
  build: (g: DiffGraph, v: string[]) => string;
}

/** Builds y = f(inputs) and the adjoints of Σ r ⊙ y; returns a runner giving y and the gradients. */
async function compile(c: Case, options: DiffGraphOptions = {}) {
  const g = new DiffGraph(options);
  const names = c.inputs.map((i) => g.input(i.name, i.dims, i.grad));
  const y = c.build(g, names);
  const yDims = g.shape(y);
  const r = g.input('r', yDims, false);
  const loss = g.raw('ReduceSum', [g.raw('Mul', [y, r])], { keepdims: 0 }, 'loss');
  const wrt = names.filter((_, i) => c.inputs[i].grad);
  const grads = g.backward(new Map([[y, r]]), wrt).map((v, i) => g.raw('Identity', [v], {}, `grad_${wrt[i]}`));
  const model = encodeModel({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }, ...(g.usesNchwc ? [{ domain: NCHWC_DOMAIN, version: 1 }] : [])],
    graph: g.b.graph('t', [...c.inputs.map((i, k) => valueInfo(names[k], DataType.FLOAT, i.dims)), valueInfo(r, DataType.FLOAT, yDims)], [valueInfo(loss, DataType.FLOAT, []), ...grads.map((v, i) => valueInfo(v, DataType.FLOAT, c.inputs.filter((x) => x.grad)[i].dims))]),
  });
  const session = await ort.InferenceSession.create(model, { graphOptimizationLevel: 'all', intraOpNumThreads: 1 });
  const run = async (values: Float32Array[], rv: Float32Array) => {
    const feeds: Record<string, ort.Tensor> = { [r]: new ort.Tensor('float32', rv, yDims) };
    c.inputs.forEach((inp, i) => (feeds[names[i]] = new ort.Tensor('float32', values[i], inp.dims)));
    const out = await session.run(feeds);
    return { loss: (out[loss].data as Float32Array)[0], grads: grads.map((v) => out[v].data as Float32Array) };
  };
  return { run, yDims, session, nchwcNodes: g.b.nodes.filter((n) => n.domain === NCHWC_DOMAIN).map((n) => n.opType) };
}

const size = (d: number[]) => d.reduce((a, b) => a * b, 1);

/** y[n,o,h,w] = b[o] + Σ x_pad[n,i,h·s+ky,w·s+kx] w[o,i,ky,kx]; returns Σ r⊙y's gradients by the definition. */
function naiveConvGrads(x: Float32Array, [N, Ci, H, W]: number[], w: Float32Array, [Co, , k]: number[], s: number, p: number, r: Float32Array) {
  const Ho = Math.floor((H + 2 * p - k) / s) + 1;
  const Wo = Math.floor((W + 2 * p - k) / s) + 1;
  const dx = new Float64Array(x.length);
  const dw = new Float64Array(w.length);
  const db = new Float64Array(Co);
  for (let n = 0; n < N; n++)
    for (let o = 0; o < Co; o++)
      for (let h = 0; h < Ho; h++)
        for (let q = 0; q < Wo; q++) {
          const dy = r[((n * Co + o) * Ho + h) * Wo + q];
          db[o] += dy;
          for (let i = 0; i < Ci; i++)
            for (let ky = 0; ky < k; ky++)
              for (let kx = 0; kx < k; kx++) {
                const yy = h * s + ky - p;
                const xx = q * s + kx - p;
                if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;
                const xi = ((n * Ci + i) * H + yy) * W + xx;
                const wi = ((o * Ci + i) * k + ky) * k + kx;
                dw[wi] += dy * x[xi];
                dx[xi] += dy * w[wi];
              }
        }
  return { dx, dw, db, out: [N, Co, Ho, Wo] };
}

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / Math.max(den, 1e-30));
}

describe('DiffGraph convolution gradients = the definition (float64 loops)', () => {
  const cases: [string, number, number, number, number, number?, number?][] = [
    // label, k, stride, pad, size, input and output channels (3 -> 4 unless given)
    ['3x3 stride 1 pad 1, 9x9 (shifted frames)', 3, 1, 1, 9],
    ['3x3 stride 1 pad 1, 6x6 (≤ 8x8: Gather + one GEMM)', 3, 1, 1, 6],
    ['3x3 stride 2 pad 1 (im2col; ConvTranspose for dx)', 3, 2, 1, 8],
    ['1x1 (one GEMM)', 1, 1, 0, 5],
    ['3x3 stride 1 pad 0, 9x9 outputs (shifted frames)', 3, 1, 0, 11],
    ['3x3 stride 1 pad 0, 5x5 outputs (Gather)', 3, 1, 0, 7],
    ['3x3 stride 1 pad 1, 9x9, 5 -> 3 channels (shifted dY)', 3, 1, 1, 9, 5, 3],
    ['3x3 stride 1 pad 0, 9x9 outputs, 5 -> 3 channels (shifted dY, cropped)', 3, 1, 0, 11, 5, 3],
  ];
  for (const [label, k, s, p, S, Ci = 3, Co = 4] of cases) {
    it(label, async () => {
      const xd = [2, Ci, S, S];
      const wd = [Co, Ci, k, k];
      const c = await compile({
        inputs: [
          { name: 'x', dims: xd, grad: true },
          { name: 'w', dims: wd, grad: true },
          { name: 'b', dims: [Co], grad: true },
        ],
        build: (g, [x, w, b]) => g.op('Conv', [x, w, b], { kernel_shape: [k, k], strides: [s, s], pads: [p, p, p, p] } as Record<string, Attr>),
      });
      const x = normals(1, 1, size(xd));
      const w = normals(1, 2, size(wd));
      const b = normals(1, 3, Co);
      const ref = naiveConvGrads(x, xd, w, wd, s, p, normals(1, 4, size(c.yDims)));
      expect(c.yDims).toEqual(ref.out);
      const got = await c.run([x, w, b], normals(1, 4, size(c.yDims)));
      expect(relErr(got.grads[0], ref.dx)).toBeLessThan(1e-5);
      expect(relErr(got.grads[1], ref.dw)).toBeLessThan(1e-5);
      expect(relErr(got.grads[2], ref.db)).toBeLessThan(1e-5);
      await c.session.release();
    });
  }
});

describe('DiffGraph convolutions on ORT NCHWc kernels (nchwcBlock) = the definition', async () => {
  // the CPU's block size (16 with AVX-512, 8 with AVX2); 0 where ORT has no NCHWc kernels, and the
  // training graph then keeps plain Conv (tested above)
  const B = await nchwcBlockSize();
  const cases: [string, number, number, number, number][] = [
    ['3x3 stride 1 pad 1 (input gradient on NCHWc too)', 3, 1, 1, 6],
    ['3x3 stride 2 pad 1 (input gradient by ConvTranspose)', 3, 2, 1, 8],
    ['1x1', 1, 1, 0, 5],
  ];
  it('the probe finds a block size on this x64 CPU', () => {
    if (process.arch === 'x64') expect([8, 16]).toContain(B);
  });
  for (const [label, k, s, p, S] of cases) {
    it.runIf(B > 0)(label, async () => {
      const [Ci, Co] = [B, 2 * B];
      const xd = [2, Ci, S, S];
      const wd = [Co, Ci, k, k];
      const c = await compile(
        {
          inputs: [
            { name: 'x', dims: xd, grad: true },
            { name: 'w', dims: wd, grad: true },
            { name: 'b', dims: [Co], grad: true },
          ],
          build: (g, [x, w, b]) => g.op('Conv', [x, w, b], { kernel_shape: [k, k], strides: [s, s], pads: [p, p, p, p] } as Record<string, Attr>),
        },
        { nchwcBlock: B },
      );
      // forward, and the input gradient where it is a stride-1 convolution
      expect(c.nchwcNodes.filter((t) => t === 'Conv').length).toBe(s === 1 ? 2 : 1);
      const x = normals(2, 1, size(xd));
      const w = normals(2, 2, size(wd));
      const b = normals(2, 3, Co);
      const r = normals(2, 4, size(c.yDims));
      const ref = naiveConvGrads(x, xd, w, wd, s, p, r);
      expect(c.yDims).toEqual(ref.out);
      const got = await c.run([x, w, b], r);
      // the loss Σ r⊙(conv(x, w) + b) is linear in w and b: = <dw, w> + <db, b> (checks the forward)
      let loss = 0;
      for (let i = 0; i < w.length; i++) loss += ref.dw[i] * w[i];
      for (let o = 0; o < Co; o++) loss += ref.db[o] * b[o];
      expect(Math.abs(got.loss - loss)).toBeLessThan(1e-4 * Math.max(1, Math.abs(loss)));
      expect(relErr(got.grads[0], ref.dx)).toBeLessThan(1e-5);
      expect(relErr(got.grads[1], ref.dw)).toBeLessThan(1e-5);
      expect(relErr(got.grads[2], ref.db)).toBeLessThan(1e-5);
      await c.session.release();
    });
  }
  it('channels that are not a multiple of the block keep plain Conv', () => {
    const g = new DiffGraph({ nchwcBlock: 16 });
    const x = g.input('x', [1, 3, 8, 8], true);
    const w = g.input('w', [16, 3, 3, 3], true);
    g.op('Conv', [x, w], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
    expect(g.usesNchwc).toBe(false);
  });
});

describe('DiffGraph gradients of the other UNet ops = central finite differences', () => {
  const fdCases: [string, Case][] = [
    ['GroupNorm lowering (Reshape, InstanceNormalization, affine)', {
      inputs: [{ name: 'x', dims: [2, 4, 3, 3], grad: true }, { name: 'gamma', dims: [4, 1, 1], grad: true }, { name: 'beta', dims: [4, 1, 1], grad: true }],
      build: (g, [x, gamma, beta]) => {
        const grouped = g.op('Reshape', [x, g.constant('int64', [0, 2, -1])]);
        const n = g.op('InstanceNormalization', [grouped, g.constant('float', [1, 1]), g.constant('float', [0, 0])], { epsilon: { float: 1e-5 } });
        return g.op('Add', [g.op('Mul', [g.op('Reshape', [n, g.constant('int64', [0, 4, 3, 3])]), gamma]), beta]);
      },
    }],
    ['GroupNorm lowering for training (LayerNormalization with mean and 1/σ outputs)', {
      inputs: [{ name: 'x', dims: [2, 4, 3, 3], grad: true }],
      build: (g, [x]) => {
        const grouped = g.op('Reshape', [x, g.constant('int64', [0, 2, -1])]);
        const [n] = g.opN('LayerNormalization', [grouped, g.constant('float', new Array(18).fill(1)), g.constant('float', new Array(18).fill(0))], 3, { axis: 2, epsilon: { float: 1e-5 } });
        return g.op('Reshape', [n, g.constant('int64', [0, 4, 3, 3])]);
      },
    }],
    ['SiLU x·σ(x)', { inputs: [{ name: 'x', dims: [3, 5], grad: true }], build: (g, [x]) => g.op('Mul', [x, g.op('Sigmoid', [x])]) }],
    ['attention: Split, Transpose, MatMul, scale, Softmax', {
      inputs: [{ name: 'qkv', dims: [2, 6, 4], grad: true }],
      build: (g, [qkv]) => {
        const [q, k, v] = g.opN('Split', [qkv, g.constant('int64', [2, 2, 2])], 3, { axis: 1 });
        const a = g.op('Softmax', [g.op('Mul', [g.op('MatMul', [g.op('Transpose', [q], { perm: [0, 2, 1] }), k]), g.constant('float', [0.7], [])])], { axis: -1 });
        return g.op('MatMul', [v, g.op('Transpose', [a], { perm: [0, 2, 1] })]);
      },
    }],
    ['nearest 2x upsample, Concat and a Gemm', {
      inputs: [{ name: 'x', dims: [1, 2, 2, 3], grad: true }, { name: 'w', dims: [5, 4], grad: true }, { name: 'b', dims: [5], grad: true }],
      build: (g, [x, w, b]) => {
        const up = g.op('Resize', [x, '', g.constant('float', [1, 1, 2, 2])], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' });
        const cat = g.op('Concat', [up, up], { axis: 1 });
        return g.op('Gemm', [g.op('Reshape', [cat, g.constant('int64', [-1, 4])]), w, b], { transB: 1 });
      },
    }],
  ];
  for (const [label, c0] of fdCases) {
    it(label, async () => {
      const c = await compile(c0);
      const values = c0.inputs.map((inp, i) => normals(5, 10 + i, size(inp.dims)));
      const rv = normals(5, 99, size(c.yDims));
      const got = await c.run(values, rv);
      // central differences in float32 (h = 1e-2): compare whole gradient vectors
      const h = 1e-2;
      for (let i = 0; i < values.length; i++) {
        const fd = new Float64Array(values[i].length);
        for (let j = 0; j < values[i].length; j++) {
          const orig = values[i][j];
          values[i][j] = orig + h;
          const lp = (await c.run(values, rv)).loss;
          values[i][j] = orig - h;
          const lm = (await c.run(values, rv)).loss;
          values[i][j] = orig;
          fd[j] = (lp - lm) / (2 * h);
        }
        expect(relErr(got.grads[i], fd), `${c0.inputs[i].name}`).toBeLessThan(2e-3);
      }
      await c.session.release();
    });
  }
});
