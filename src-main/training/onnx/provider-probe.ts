/**
 * The training probe of the provider choice (onnx/providers.ts): one step of the one-graph
 * training step (loss, gradient norm, new parameters, moments and EMA) of a tiny UNet with every layer type, on fixed seeded
 * inputs, compared with the CPU provider. The WebGPU check measured gradients within
 * 1.7e-4 relative of the CPU's; the tolerance leaves room for other adapters.
 */
import { unetParamSpecs } from '../../network/architecture';
import type { UNetConfig } from '../../network/config';
import { normals } from '../../diffusion/rng';
import { chooseProvider, type ProbeWorkload, type ProviderChoice } from '../../onnx/providers';
import type { OrtProvider } from '../../onnx/session';
import { TRAIN_GRAPH_INPUTS } from './train-graph';
import { buildStepGraph, FLAT, maxFanInFor, STEP_INPUTS } from './step-graph';

/** The probe's UNet: every layer type (res blocks with a skip conv, attention, up/down sampling). */
export const PROBE_UNET: UNetConfig = { imageSize: 8, inChannels: 3, baseChannels: 8, channelMults: [1, 2], resBlocks: 1, attentionResolutions: [4], groups: 4, dropout: 0, timeInput: 'discrete' };

/**
 * The tiny training step as a probe workload (rows 2, seeded weights, moments and batch): the
 * one-graph step the trainer runs (step-graph.ts: loss, gradients, clipping, AdamW, EMA), built
 * with WebGPU's fan-in limit so the same graph runs on every provider.
 */
export function trainingProbeWorkload(config: UNetConfig = PROBE_UNET, rows = 2): ProbeWorkload {
  const graph = buildStepGraph(config, rows, { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: true, accumulate: false, maxFanIn: maxFanInFor('webgpu') });
  const { imageSize: S, inChannels: C } = config;
  const feeds: ProbeWorkload['feeds'] = {};
  const img = rows * C * S * S;
  feeds[TRAIN_GRAPH_INPUTS.sample] = { type: 'float32', data: normals(11, 0, img), dims: [rows, C, S, S] };
  feeds[TRAIN_GRAPH_INPUTS.target] = { type: 'float32', data: normals(11, 1, img), dims: [rows, C, S, S] };
  feeds[TRAIN_GRAPH_INPUTS.timestep] = { type: 'float32', data: Float32Array.from({ length: rows }, (_, i) => 100 + 400 * i), dims: [rows] };
  feeds[TRAIN_GRAPH_INPUTS.coef] = { type: 'float32', data: new Float32Array(rows).fill(1 / img), dims: [rows, 1, 1, 1] };
  const { layout } = graph;
  const P = layout.total;
  const params = new Float32Array(P);
  unetParamSpecs(config).forEach((spec, i) => {
    // conv/linear weights ~ N(0, 1/fan_in), biases small, norm scales around 1
    const z = normals(12, i, layout.sizes[i]);
    params.set(spec.fanIn > 0 ? z.map((v) => (spec.role === 'weight' ? v / Math.sqrt(spec.fanIn) : 0.1 * v)) : z.map((v) => (spec.role === 'weight' ? 1 + 0.2 * v : 0.1 * v)), layout.offsets[i]);
  });
  const scalar = (x: number) => ({ type: 'float32' as const, data: Float32Array.of(x), dims: [] });
  // a mid-run Adam state: step 10, moments of plausible size (second moments positive)
  feeds[STEP_INPUTS.stepSize] = scalar(1e-3 / (1 - 0.9 ** 10));
  feeds[STEP_INPUTS.sqrtBc2] = scalar(Math.sqrt(1 - 0.999 ** 10));
  feeds[STEP_INPUTS.decay] = scalar(1 - 1e-3 * 1e-2);
  feeds[STEP_INPUTS.clip] = scalar(1);
  feeds[STEP_INPUTS.emaDecay] = scalar(0.99);
  feeds[STEP_INPUTS.emaKeep] = scalar(0.01);
  feeds[FLAT.params] = { type: 'float32', data: params, dims: [P] };
  feeds[FLAT.m] = { type: 'float32', data: normals(13, 0, P).map((v) => 1e-3 * v), dims: [P] };
  feeds[FLAT.v] = { type: 'float32', data: normals(13, 1, P).map((v) => 1e-6 * (1 + v * v)), dims: [P] };
  feeds[FLAT.ema] = { type: 'float32', data: params.slice(), dims: [P] };
  return { label: 'training step', model: graph.model, feeds, rtol: 2e-3 };
}

const chosen = new Map<string, Promise<ProviderChoice>>();

/** The provider of the training graph (probed once per process and request). */
export function chooseTrainingProvider(requested: OrtProvider | 'auto', log?: (m: string) => void): Promise<ProviderChoice> {
  let p = chosen.get(requested);
  if (!p) {
    p = chooseProvider({ requested, workload: trainingProbeWorkload(), log });
    chosen.set(requested, p);
    p.catch(() => chosen.delete(requested));
  }
  return p;
}
