/**
 * Child process of tests/unit/onnx/webgpu.test.ts (ONNX Runtime must see VK_ICD_FILENAMES when it
 * loads, so the WebGPU work runs here, started with the SwiftShader environment):
 *   node --import tsx tests/helpers/webgpu-check.ts train   one training step (loss + every gradient)
 *   node --import tsx tests/helpers/webgpu-check.ts sample  a short DDIM run of two images
 *   node --import tsx tests/helpers/webgpu-check.ts sum     a one-node Sum graph (no WebGPU kernel:
 *                                                          the negative control of the placement check)
 * each on the CPU provider and on the WebGPU provider (the WebGPU session with ORT's verbose log,
 * whose node placement lines the test reads). The last stdout line is `RESULT <json>`.
 */
import { createOrtSession, exportUNetToOnnx, ortNetwork, randomUNetTensors, worstRelativeDiff, type OrtProvider } from '../../src-main/onnx/index';
import { PROBE_UNET, trainingProbeWorkload } from '../../src-main/training/onnx/provider-probe';
import { familyDenoiser, processOf } from '../../src-main/diffusion/model-family';
import { sampleSeeds } from '../../src-main/diffusion/pipeline';
import type { ScheduleJson } from '../../src-main/api/types';
import { GraphBuilder, valueInfo } from '../../src-main/onnx/graph';
import { DataType, encodeModel } from '../../src-main/onnx/proto';

const mode = process.argv[2];

async function trainStep(provider: OrtProvider): Promise<Record<string, Float32Array>> {
  const w = trainingProbeWorkload(PROBE_UNET, 2);
  const session = await createOrtSession(w.model, { provider, strict: true, reuse: false, logSeverity: provider === 'webgpu' ? 0 : 3, log: () => {} });
  try {
    const feeds: Record<string, InstanceType<typeof session.ort.Tensor>> = {};
    for (const [k, f] of Object.entries(w.feeds)) feeds[k] = new session.ort.Tensor('float32', f.data as Float32Array, f.dims);
    const out = await session.run(feeds);
    return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, t.data as Float32Array]));
  } finally {
    await session.dispose();
  }
}

async function sample(provider: OrtProvider): Promise<Float32Array> {
  const schedule: ScheduleJson = { kind: 'discrete', beta: 'linear', trainSteps: 1000, betaStart: 1e-4, betaEnd: 0.02 };
  const model = exportUNetToOnnx({ config: PROBE_UNET, tensors: randomUNetTensors(PROBE_UNET, 3) }, { prediction: 'eps', schedule, appVersion: 'test' });
  const session = await createOrtSession(model, { provider, strict: true, reuse: false, logSeverity: provider === 'webgpu' ? 0 : 3, log: () => {} });
  try {
    const process = processOf(schedule);
    const denoiser = familyDenoiser(ortNetwork(session), schedule, 'eps', process);
    const S = PROBE_UNET.imageSize;
    const r = await sampleSeeds({ denoiser, process, sampler: { name: 'ddim', steps: 5 }, seeds: [7, 8], shape: [2, 3, S, S] });
    return Float32Array.from(r.x);
  } finally {
    await session.dispose();
  }
}

if (mode === 'train') {
  const cpu = await trainStep('cpu');
  const gpu = await trainStep('webgpu');
  const { rel, output } = worstRelativeDiff(gpu, cpu);
  const loss = Object.keys(cpu).find((k) => k === 'loss')!;
  console.log(`RESULT ${JSON.stringify({ outputs: Object.keys(cpu).length, worstRel: rel, worstOutput: output, lossCpu: cpu[loss][0], lossGpu: gpu[loss][0] })}`);
} else if (mode === 'sample') {
  const cpu = await sample('cpu');
  const gpu = await sample('webgpu');
  const { rel } = worstRelativeDiff({ x: gpu }, { x: cpu });
  let maxAbs = 0;
  for (let i = 0; i < cpu.length; i++) maxAbs = Math.max(maxAbs, Math.abs(cpu[i] - gpu[i]));
  console.log(`RESULT ${JSON.stringify({ values: cpu.length, worstRel: rel, maxAbs, finite: cpu.every(Number.isFinite) && gpu.every(Number.isFinite) })}`);
} else if (mode === 'sum') {
  const g = new GraphBuilder();
  const [a, b] = [g.fresh('a'), g.fresh('b')];
  const y = g.op('Sum', [a, b], {}, 'y');
  const model = encodeModel({ irVersion: 8, opsetImport: [{ domain: '', version: 17 }], producerName: 'test', graph: g.graph('sum', [valueInfo(a, DataType.FLOAT, [4]), valueInfo(b, DataType.FLOAT, [4])], [valueInfo(y, DataType.FLOAT, [4])]) });
  const session = await createOrtSession(model, { provider: 'webgpu', strict: true, reuse: false, logSeverity: 0, log: () => {} });
  const t = (v: number) => new session.ort.Tensor('float32', new Float32Array(4).fill(v), [4]);
  const out = await session.run({ [a]: t(1), [b]: t(2) });
  await session.dispose();
  console.log(`RESULT ${JSON.stringify({ y: Array.from(out[y].data as Float32Array) })}`);
} else {
  console.error('usage: webgpu-check.ts train|sample');
  process.exit(2);
}
