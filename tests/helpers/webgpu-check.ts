/**
 * Child process of tests/unit/onnx/webgpu.test.ts (ONNX Runtime must see VK_ICD_FILENAMES when it
 * loads, so the WebGPU work runs here, started with the SwiftShader environment):
 *   node --import tsx tests/helpers/webgpu-check.ts train   one training step (loss + every gradient)
 *   node --import tsx tests/helpers/webgpu-check.ts sample  a short DDIM run of two images
 *   node --import tsx tests/helpers/webgpu-check.ts sum     a one-node Sum graph (no WebGPU kernel:
 *                                                          the negative control of the placement check)
 * each on the CPU provider and on the WebGPU provider. The WebGPU session runs with ORT's
 * profiler, and `placements` counts its kernels per execution provider (the trace's
 * `args.provider` of every node's kernel event: a node that fell back shows up as
 * CPUExecutionProvider). ORT's verbose log says the same ("All nodes placed on [...]"), but it
 * goes through a buffered stream that is sometimes lost when the process ends, so the test reads
 * the profile. The last stdout line is `RESULT <json>`.
 */
import { createOrtSession, exportUNetToOnnx, ortNetwork, randomUNetTensors, worstRelativeDiff, type OrtProvider } from '../../src-main/onnx/index';
import { PROBE_UNET, trainingProbeWorkload } from '../../src-main/training/onnx/provider-probe';
import { familyDenoiser, processOf } from '../../src-main/diffusion/model-family';
import { sampleSeeds } from '../../src-main/diffusion/pipeline';
import type { ScheduleJson } from '../../src-main/api/types';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraphBuilder, valueInfo } from '../../src-main/onnx/graph';
import { DataType, encodeModel } from '../../src-main/onnx/proto';

const mode = process.argv[2];
const profileDir = mkdtempSync(join(tmpdir(), 'sfumato-webgpu-'));
/** kernels per execution provider, from the WebGPU session's profile */
const placements: Record<string, number> = {};

function readPlacements(): void {
  for (const f of readdirSync(profileDir)) {
    const events = JSON.parse(readFileSync(join(profileDir, f), 'utf8')) as { cat?: string; name?: string; args?: { provider?: string } }[];
    for (const e of events) if (e.cat === 'Node' && e.name?.endsWith('_kernel_time')) placements[e.args?.provider ?? '?'] = (placements[e.args?.provider ?? '?'] ?? 0) + 1;
  }
  rmSync(profileDir, { recursive: true, force: true });
}

/** session options: the WebGPU one profiled (one run each, so kernels = nodes) */
const opts = (provider: OrtProvider) => ({ provider, strict: true, reuse: false, log: () => {}, ...(provider === 'webgpu' ? { profilePrefix: join(profileDir, 'p') } : {}) });

async function trainStep(provider: OrtProvider): Promise<Record<string, Float32Array>> {
  const w = trainingProbeWorkload(PROBE_UNET, 2);
  const session = await createOrtSession(w.model, opts(provider));
  try {
    const feeds: Record<string, InstanceType<typeof session.ort.Tensor>> = {};
    for (const [k, f] of Object.entries(w.feeds)) feeds[k] = new session.ort.Tensor('float32', f.data as Float32Array, f.dims);
    const out = await session.run(feeds);
    if (provider === 'webgpu') session.endProfiling();
    return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, t.data as Float32Array]));
  } finally {
    await session.dispose();
  }
}

async function sample(provider: OrtProvider): Promise<Float32Array> {
  const schedule: ScheduleJson = { kind: 'discrete', beta: 'linear', trainSteps: 1000, betaStart: 1e-4, betaEnd: 0.02 };
  const model = exportUNetToOnnx({ config: PROBE_UNET, tensors: randomUNetTensors(PROBE_UNET, 3) }, { prediction: 'eps', schedule, appVersion: 'test' });
  const session = await createOrtSession(model, opts(provider));
  try {
    const process = processOf(schedule);
    const denoiser = familyDenoiser(ortNetwork(session), schedule, 'eps', process);
    const S = PROBE_UNET.imageSize;
    const r = await sampleSeeds({ denoiser, process, sampler: { name: 'ddim', steps: 5 }, seeds: [7, 8], shape: [2, 3, S, S] });
    if (provider === 'webgpu') session.endProfiling();
    return Float32Array.from(r.x);
  } finally {
    await session.dispose();
  }
}

let result: Record<string, unknown> = {};
if (mode === 'train') {
  const cpu = await trainStep('cpu');
  const gpu = await trainStep('webgpu');
  const { rel, output } = worstRelativeDiff(gpu, cpu);
  const loss = Object.keys(cpu).find((k) => k === 'loss')!;
  result = { outputs: Object.keys(cpu).length, worstRel: rel, worstOutput: output, lossCpu: cpu[loss][0], lossGpu: gpu[loss][0] };
} else if (mode === 'sample') {
  const cpu = await sample('cpu');
  const gpu = await sample('webgpu');
  const { rel } = worstRelativeDiff({ x: gpu }, { x: cpu });
  let maxAbs = 0;
  for (let i = 0; i < cpu.length; i++) maxAbs = Math.max(maxAbs, Math.abs(cpu[i] - gpu[i]));
  result = { values: cpu.length, worstRel: rel, maxAbs, finite: cpu.every(Number.isFinite) && gpu.every(Number.isFinite) };
} else if (mode === 'sum') {
  const g = new GraphBuilder();
  const [a, b] = [g.fresh('a'), g.fresh('b')];
  const y = g.op('Sum', [a, b], {}, 'y');
  const model = encodeModel({ irVersion: 8, opsetImport: [{ domain: '', version: 17 }], producerName: 'test', graph: g.graph('sum', [valueInfo(a, DataType.FLOAT, [4]), valueInfo(b, DataType.FLOAT, [4])], [valueInfo(y, DataType.FLOAT, [4])]) });
  const session = await createOrtSession(model, opts('webgpu'));
  const t = (v: number) => new session.ort.Tensor('float32', new Float32Array(4).fill(v), [4]);
  const out = await session.run({ [a]: t(1), [b]: t(2) });
  session.endProfiling();
  await session.dispose();
  result = { y: Array.from(out[y].data as Float32Array) };
} else {
  console.error('usage: webgpu-check.ts train|sample|sum');
  process.exit(2);
}
readPlacements();
console.log(`RESULT ${JSON.stringify({ ...result, placements })}`);
