import { BENCH_UNET_CONFIG } from '../src-main/model/config';
import { unetParamSpecs } from '../src-main/model/architecture';
import { OrtGradientEngine } from '../src-main/training/onnx/engine';
import { normals } from '../src-main/diffusion/index';
const B = 16;
const main = async () => {
  const t0 = performance.now();
  const e = await OrtGradientEngine.create(BENCH_UNET_CONFIG, B);
  console.log('create ms', performance.now() - t0, 'nodes', e.graph.nodeCount);
  const w = unetParamSpecs(BENCH_UNET_CONFIG).map((s, i) => normals(1, i, s.shape.reduce((a, b) => a * b, 1)).map((x) => x * 0.05));
  const per = 32 * 32 * 3;
  const batch = { xIn: normals(2, 1, B * per), target: normals(2, 2, B * per), time: new Float32Array(B).fill(500), weight: new Float32Array(B).fill(1) };
  const ts = [];
  for (let i = 0; i < 8; i++) { const t = performance.now(); const r = await e.lossAndGrads(w, batch, B); ts.push(performance.now() - t); if (i === 0) console.log('loss', r.loss); }
  console.log(ts.map((x) => x.toFixed(0)).join(' '));
  await e.dispose();
};
main();
