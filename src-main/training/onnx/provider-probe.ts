/**
 * The training probe of the provider choice (onnx/providers.ts): one step of the training-step
 * graph (loss and every parameter gradient) of a tiny UNet with every layer type, on fixed seeded
 * inputs, compared with the CPU provider. The WebGPU check measured gradients within
 * 1.7e-4 relative of the CPU's; the tolerance leaves room for other adapters.
 */
import { unetParamSpecs } from '../../network/architecture';
import type { UNetConfig } from '../../network/config';
import { normals } from '../../diffusion/rng';
import { chooseProvider, type ProbeWorkload, type ProviderChoice } from '../../onnx/providers';
import type { OrtProvider } from '../../onnx/session';
import { buildTrainGraph, TRAIN_GRAPH_INPUTS } from './train-graph';

/** The probe's UNet: every layer type (res blocks with a skip conv, attention, up/down sampling). */
export const PROBE_UNET: UNetConfig = { imageSize: 8, inChannels: 3, baseChannels: 8, channelMults: [1, 2], resBlocks: 1, attentionResolutions: [4], groups: 4, dropout: 0, timeInput: 'discrete' };

/** The tiny training step as a probe workload (rows 2, seeded weights and batch). */
export function trainingProbeWorkload(config: UNetConfig = PROBE_UNET, rows = 2): ProbeWorkload {
  const graph = buildTrainGraph(config, rows);
  const { imageSize: S, inChannels: C } = config;
  const feeds: ProbeWorkload['feeds'] = {};
  const img = rows * C * S * S;
  feeds[TRAIN_GRAPH_INPUTS.sample] = { type: 'float32', data: normals(11, 0, img), dims: [rows, C, S, S] };
  feeds[TRAIN_GRAPH_INPUTS.target] = { type: 'float32', data: normals(11, 1, img), dims: [rows, C, S, S] };
  feeds[TRAIN_GRAPH_INPUTS.timestep] = { type: 'float32', data: Float32Array.from({ length: rows }, (_, i) => 100 + 400 * i), dims: [rows] };
  feeds[TRAIN_GRAPH_INPUTS.coef] = { type: 'float32', data: new Float32Array(rows).fill(1 / img), dims: [rows, 1, 1, 1] };
  unetParamSpecs(config).forEach((spec, i) => {
    const n = graph.paramDims[i].reduce((a, b) => a * b, 1);
    // conv/linear weights ~ N(0, 1/fan_in), biases small, norm scales around 1
    const z = normals(12, i, n);
    const data = spec.fanIn > 0 ? z.map((v) => (spec.role === 'weight' ? v / Math.sqrt(spec.fanIn) : 0.1 * v)) : z.map((v) => (spec.role === 'weight' ? 1 + 0.2 * v : 0.1 * v));
    feeds[graph.params[i]] = { type: 'float32', data, dims: graph.paramDims[i] };
  });
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
