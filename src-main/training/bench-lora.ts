/**
 * LoRA step time against a full fine-tune of the same model, on the one-graph ONNX Runtime engine
 * (training/onnx/step-engine.ts) in the same process: both engines built for the same UNet, batch
 * and data, their steps interleaved (full, LoRA, full, LoRA, …) so machine load falls on both
 * alike; median seconds per step of each and their ratio. Clipping off and an EMA update in both,
 * as the trainer runs them. The LoRA step computes only the adapters' gradients (the base weights
 * are graph inputs without gradients) and runs Adam/EMA over the adapters only.
 */
import { makeDiscreteSchedule, normals } from '../diffusion/index';
import { initialValue } from '../network/unet';
import { unetParamSpecs, paramCountOf } from '../network/architecture';
import type { UNetConfig } from '../network/config';
import { adapterParamCount, initAdapters, loraAdapterSpecs, loraScale, type LoraConfig } from '../network/lora';
import { OrtStepEngine } from './onnx/step-engine';
import { benchBatch, medianOf } from './bench-train';

export interface LoraBenchOptions {
  config: UNetConfig;
  lora: LoraConfig;
  batch: number;
  steps: number;
  warmup: number;
  threads?: number;
}

export interface LoraBenchResult {
  params: number;
  trainable_params: number;
  batch: number;
  rank: number;
  targets: string;
  full_step_s: number;
  lora_step_s: number;
  /** full / LoRA: how many times faster a LoRA step is */
  ratio_full_over_lora: number;
  full_step_s_all: number[];
  lora_step_s_all: number[];
  full_graph_nodes: number;
  lora_graph_nodes: number;
  ort_threads: number;
}

export async function benchLoraStep(o: LoraBenchOptions): Promise<LoraBenchResult> {
  const { config, batch: B } = o;
  const specs = unetParamSpecs(config);
  const base = specs.map((s) => initialValue(s, 1));
  const zeros = (list: Float32Array[]) => list.map((x) => new Float32Array(x.length));
  const adapters = loraAdapterSpecs(config, o.lora);
  const ad = initAdapters(adapters, 1);
  // a trained-looking adapter: up non-zero (the cost does not depend on the values)
  ad.forEach((x, i) => i % 2 === 1 && x.set(normals(2, i, x.length, 0).map((v) => 0.01 * v)));
  const full = await OrtStepEngine.create(config, B, { threads: o.threads });
  const lora = await OrtStepEngine.create(config, B, { threads: o.threads, lora: { adapters, scale: loraScale(o.lora) } });
  try {
    full.setState({ params: base, m: zeros(base), v: zeros(base), ema: base.map((x) => x.slice()) }, { adamStep: 0, emaUpdates: 0 });
    lora.setFrozen(base);
    lora.setState({ params: ad, m: zeros(ad), v: zeros(ad), ema: ad.map((x) => x.slice()) }, { adamStep: 0, emaUpdates: 0 });
    const S = config.imageSize;
    const per = S * S * config.inChannels;
    const schedule = makeDiscreteSchedule({ kind: 'discrete', beta: 'linear', betaStart: 1e-4, betaEnd: 0.02, trainSteps: 1000 });
    const x0 = normals(0, 1, B * per, 0).map((v) => Math.max(-1, Math.min(1, 0.5 * v)));
    const batchAt = (k: number) => benchBatch(k, B, per, x0, schedule.alphasCumprod);
    const timed = async (e: OrtStepEngine, k: number) => {
      const batch = batchAt(k);
      const t0 = performance.now();
      const r = await e.step({ lr: 1e-4, clip: 0, emaDecay: 0.999, fullBatch: B, micro: () => ({ batch }) });
      if (!r.applied) throw new Error('bench step gave a non-finite loss');
      return (performance.now() - t0) / 1000;
    };
    for (let k = 0; k < o.warmup; k++) {
      await timed(full, k);
      await timed(lora, k);
    }
    const tf: number[] = [];
    const tl: number[] = [];
    for (let k = 0; k < o.steps; k++) {
      // alternate which goes first, so neither always follows the other's cache state
      if (k % 2 === 0) {
        tf.push(await timed(full, o.warmup + k));
        tl.push(await timed(lora, o.warmup + k));
      } else {
        tl.push(await timed(lora, o.warmup + k));
        tf.push(await timed(full, o.warmup + k));
      }
    }
    const fs = medianOf(tf);
    const ls = medianOf(tl);
    return {
      params: paramCountOf(config),
      trainable_params: adapterParamCount(adapters),
      batch: B,
      rank: o.lora.rank,
      targets: o.lora.targets.join(','),
      full_step_s: fs,
      lora_step_s: ls,
      ratio_full_over_lora: fs / ls,
      full_step_s_all: tf,
      lora_step_s_all: tl,
      full_graph_nodes: full.graph.nodeCount,
      lora_graph_nodes: lora.graph.nodeCount,
      ort_threads: full.threads,
    };
  } finally {
    await Promise.all([full.dispose(), lora.dispose()]);
  }
}

