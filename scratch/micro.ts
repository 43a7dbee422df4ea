import * as ort from 'onnxruntime-node';
import { GraphBuilder, valueInfo } from '/work/main/src-main/inference/onnx/graph';
import { DataType, encodeModel } from '/work/main/src-main/inference/onnx/proto';

async function bench(name: string, build: (g: GraphBuilder) => { inputs: [string, number[]][]; out: string }, flop: number) {
  const g = new GraphBuilder();
  const { inputs, out } = build(g);
  const model = encodeModel({ irVersion: 8, opsetImport: [{ domain: '', version: 17 }], producerName: 't', graph: g.graph('m', inputs.map(([n, d]) => valueInfo(n, DataType.FLOAT, d)), [valueInfo(out, DataType.FLOAT, [])]) });
  const s = await ort.InferenceSession.create(model, { intraOpNumThreads: 2, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential' });
  const feeds: Record<string, ort.Tensor> = {};
  for (const [n, d] of inputs) feeds[n] = new ort.Tensor('float32', Float32Array.from({ length: d.reduce((a, b) => a * b, 1) }, () => Math.random() - 0.5), d);
  for (let i = 0; i < 3; i++) await s.run(feeds);
  const ts: number[] = [];
  for (let i = 0; i < 10; i++) { const t0 = performance.now(); await s.run(feeds); ts.push(performance.now() - t0); }
  ts.sort((a, b) => a - b);
  console.log(name, ts[5].toFixed(2), 'ms', (flop / ts[5] / 1e6).toFixed(1), 'GFLOP/s');
}
const N = 16, C = 64, H = 32, Co = 64;
const flop = 2 * N * Co * C * 9 * H * H;
const main = async () => {
  await bench('conv fwd', (g) => { g.fresh('x'); g.fresh('w'); return { inputs: [['x', [N, C, H, H]], ['w', [Co, C, 3, 3]]], out: g.op('Conv', ['x', 'w'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }) }; }, flop);
  await bench('convT dx', (g) => { g.fresh('dy'); g.fresh('w'); return { inputs: [['dy', [N, Co, H, H]], ['w', [Co, C, 3, 3]]], out: g.op('ConvTranspose', ['dy', 'w'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }) }; }, flop);
  await bench('conv flipped dx', (g) => { g.fresh('dy'); g.fresh('w'); 
    const wt = g.op('Transpose', ['w'], { perm: [1, 0, 2, 3] });
    const wf = g.op('Slice', [wt, g.constant('int64', [-1, -1]), g.constant('int64', [-1e9, -1e9]), g.constant('int64', [2, 3]), g.constant('int64', [-1, -1])]);
    return { inputs: [['dy', [N, Co, H, H]], ['w', [Co, C, 3, 3]]], out: g.op('Conv', ['dy', wf], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }) }; }, flop);
  await bench('conv-trick dw', (g) => { g.fresh('x'); g.fresh('dy');
    const xt = g.op('Transpose', ['x'], { perm: [1, 0, 2, 3] });
    const dyt = g.op('Transpose', ['dy'], { perm: [1, 0, 2, 3] });
    const r = g.op('Conv', [xt, dyt], { pads: [1, 1, 1, 1] });
    return { inputs: [['x', [N, C, H, H]], ['dy', [N, Co, H, H]]], out: g.op('Transpose', [r], { perm: [1, 0, 2, 3] }) }; }, flop);
  await bench('im2col gemm dw', (g) => { g.fresh('x'); g.fresh('dy');
    const xt = g.op('Transpose', ['x'], { perm: [1, 0, 2, 3] });
    const xp = g.op('Pad', [xt, g.constant('int64', [0, 0, 1, 1, 0, 0, 1, 1])]);
    const taps: string[] = [];
    for (let ky = 0; ky < 3; ky++) for (let kx = 0; kx < 3; kx++) {
      const sl = g.op('Slice', [xp, g.constant('int64', [ky, kx]), g.constant('int64', [ky + H, kx + H]), g.constant('int64', [2, 3])]);
      taps.push(g.op('Unsqueeze', [sl, g.constant('int64', [1])]));
    }
    const cols = g.op('Reshape', [g.op('Concat', taps, { axis: 1 }), g.constant('int64', [C * 9, -1])]);
    const dyt = g.op('Reshape', [g.op('Transpose', ['dy'], { perm: [1, 0, 2, 3] }), g.constant('int64', [Co, -1])]);
    const r = g.op('Gemm', [dyt, cols], { transB: 1 });
    return { inputs: [['x', [N, C, H, H]], ['dy', [N, Co, H, H]]], out: g.op('Reshape', [r, g.constant('int64', [Co, C, 3, 3])]) }; }, flop);
};
main();
