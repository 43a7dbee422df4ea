/**
 * Loss and parameter gradients of a UNet micro-batch on ONNX Runtime (CPU, native, every core),
 * from the training-step graph of train-graph.ts. The trainer keeps its weights, Adam state and
 * EMA in tfjs as on every other backend; per step this engine feeds the weights (tfjs layout; the
 * graph transposes them) and the batch, and returns the loss and the gradients in tfjs layout.
 *
 * Dropout masks (when the config has dropout) are drawn here from the counter-based generator,
 * keyed by the shard's dropout seed and the block's index, so a step's masks are a pure function
 * of (run seed, step, micro-batch) as with tfjs, but not the same masks tfjs would draw.
 */
import type * as Ort from 'onnxruntime-node';
import { unetParamSpecs, type ParamSpec } from '../../network/architecture';
import type { UNetConfig } from '../../network/config';
import { dropoutMask } from '../../diffusion/index';
import { nchwcBlockSize } from '../../onnx/nchwc';
import { createOrtSession, physicalCoreCount, type OrtProvider, type OrtSession } from '../../onnx/session';
import type { BatchArrays } from '../parallel/shards';
import { buildTrainGraph, TRAIN_GRAPH_INPUTS, TRAIN_GRAPH_LOSS, type TrainGraph } from './train-graph';

/** Philox stream of dropout masks (block i uses DROPOUT_STREAM + i). */
export const DROPOUT_STREAM = 2 ** 42;

export interface OrtGradResult {
  /** this shard's share of the batch loss */
  loss: number;
  /** gradients in tfjs layout, in unetParamSpecs order (= UNet.variables() order) */
  grads: Float32Array[];
}

export class OrtGradientEngine {
  private constructor(
    readonly config: UNetConfig,
    readonly rows: number,
    readonly graph: TrainGraph,
    private readonly session: OrtSession,
    private readonly specs: ParamSpec[],
  ) {}

  /** Builds the graph for `rows` rows and opens its session (`provider`, default CPU, as chosen by
   *  provider-probe.ts; `threads` intra-op threads). */
  static async create(config: UNetConfig, rows: number, opts: { threads?: number; appVersion?: string; profilePrefix?: string; groupNorm?: 'decomposed' | 'layernorm'; provider?: OrtProvider; nchwc?: boolean } = {}): Promise<OrtGradientEngine> {
    // the same convolution kernels as the one-graph engine (step-engine.ts), so the two differ only in the optimiser
    const nchwcBlock = (opts.provider ?? 'cpu') === 'cpu' && opts.nchwc !== false ? await nchwcBlockSize() : 0;
    const graph = buildTrainGraph(config, rows, { producerVersion: opts.appVersion, groupNorm: opts.groupNorm, nchwcBlock });
    const session = await createOrtSession(graph.model, { provider: opts.provider ?? 'cpu', strict: true, intraOpThreads: opts.threads ?? physicalCoreCount(), reuse: false, profilePrefix: opts.profilePrefix });
    return new OrtGradientEngine(config, rows, graph, session, unetParamSpecs(config));
  }

  get provider(): OrtProvider {
    return this.session.provider;
  }

  get threads(): number {
    return this.session.intraOpThreads;
  }

  /**
   * Loss and gradients of `batch` (NHWC rows, the trainer's microBatch layout) for `weights` (tfjs
   * layout, unetParamSpecs order). `fullBatch` normalises the loss as parallel/shards.ts shardLoss.
   */
  async lossAndGrads(weights: readonly Float32Array[], batch: BatchArrays, fullBatch: number, dropoutSeed?: number): Promise<OrtGradResult> {
    const { rows, config, specs, graph } = this;
    if (weights.length !== specs.length) throw new Error(`OrtGradientEngine: ${weights.length} weight tensors for ${specs.length} parameters`);
    const ort = this.session.ort;
    const f32 = (data: Float32Array, dims: readonly number[]) => new ort.Tensor('float32', data, dims as number[]);
    const feeds = batchFeeds(ort, config, rows, graph.masks, batch, fullBatch, dropoutSeed, 'OrtGradientEngine');
    // weights and gradients travel in tfjs layout (the graph transposes; train-graph.ts contract)
    specs.forEach((_, i) => (feeds[graph.params[i]] = f32(weights[i], graph.paramDims[i])));
    const out = await this.session.run(feeds);
    const loss = (out[TRAIN_GRAPH_LOSS].data as Float32Array)[0];
    return { loss, grads: specs.map((_, i) => out[graph.grads[i]].data as Float32Array) };
  }

  /** Ends profiling (engines created with profilePrefix): ORT writes its trace file. */
  endProfiling(): void {
    this.session.endProfiling();
  }

  dispose(): Promise<void> {
    return this.session.dispose();
  }
}

/**
 * The batch inputs of a training graph (train-graph.ts contract) from a trainer micro-batch (NHWC
 * rows): NCHW sample and target, the time input, coef = w_b / (fullBatch · C·S·S), and the
 * dropout masks drawn from `dropoutSeed` (block i from stream DROPOUT_STREAM + i).
 */
export function batchFeeds(ort: typeof Ort, config: UNetConfig, rows: number, masks: TrainGraph['masks'], batch: BatchArrays, fullBatch: number, dropoutSeed: number | undefined, who: string): Record<string, Ort.Tensor> {
  const { imageSize: S, inChannels: C } = config;
  if (batch.time.length !== rows) throw new Error(`${who}: built for ${rows} rows, got ${batch.time.length}`);
  const D = C * S * S;
  const f32 = (data: Float32Array, dims: readonly number[]) => new ort.Tensor('float32', data, dims as number[]);
  const coef = new Float32Array(rows);
  for (let b = 0; b < rows; b++) coef[b] = batch.weight[b] / (fullBatch * D);
  const feeds: Record<string, Ort.Tensor> = {
    [TRAIN_GRAPH_INPUTS.sample]: f32(nhwcToNchw(batch.xIn, rows, S, C), [rows, C, S, S]),
    [TRAIN_GRAPH_INPUTS.timestep]: f32(batch.time, [rows]),
    [TRAIN_GRAPH_INPUTS.target]: f32(nhwcToNchw(batch.target, rows, S, C), [rows, C, S, S]),
    [TRAIN_GRAPH_INPUTS.coef]: f32(coef, [rows, 1, 1, 1]),
  };
  const K = config.numClasses ?? 0;
  if (K > 0) {
    if (!batch.labels || batch.labels.length !== rows) throw new Error(`${who}: the network is class-conditional; the batch needs ${rows} labels`);
    feeds[TRAIN_GRAPH_INPUTS.classOneHot] = f32(oneHot(batch.labels, K + 1), [rows, K + 1]);
  }
  const augDim = config.augmentDim ?? 0;
  if (augDim > 0) feeds[TRAIN_GRAPH_INPUTS.augment] = f32(batch.augment ?? new Float32Array(rows * augDim), [rows, augDim]);
  if (masks.length) {
    if (dropoutSeed === undefined) throw new Error(`${who}: the config has dropout; pass a dropout seed`);
    const p = config.dropout;
    masks.forEach((m, i) => {
      const n = rows * m.dims[0] * m.dims[1] * m.dims[2];
      feeds[m.name] = f32(dropoutMask(dropoutSeed, DROPOUT_STREAM + i, n, p), [rows, ...m.dims]);
    });
  }
  return feeds;
}

/** Rows of `n` columns, 1 at each label (the class input of the training graph). */
export function oneHot(labels: Int32Array, n: number): Float32Array {
  const out = new Float32Array(labels.length * n);
  labels.forEach((l, b) => {
    if (!(l >= 0 && l < n)) throw new Error(`class label ${l} outside 0..${n - 1}`);
    out[b * n + l] = 1;
  });
  return out;
}

/** [B, H, W, C] -> [B, C, H, W]. */
export function nhwcToNchw(x: Float32Array, B: number, S: number, C: number): Float32Array {
  const out = new Float32Array(x.length);
  const hw = S * S;
  for (let b = 0; b < B; b++) {
    const base = b * hw * C;
    for (let p = 0; p < hw; p++) for (let c = 0; c < C; c++) out[base + c * hw + p] = x[base + p * C + c];
  }
  return out;
}

let probed: Promise<number> | undefined;

/**
 * One training step of a tiny UNet on ONNX Runtime (once per process): resolves to the engine's
 * thread count when the loss and gradients come back finite, rejects with the reason otherwise.
 */
export function probeOrtTraining(): Promise<number> {
  probed ??= (async () => {
    const config: UNetConfig = { imageSize: 8, inChannels: 3, baseChannels: 8, channelMults: [1, 2], resBlocks: 1, attentionResolutions: [4], groups: 4, dropout: 0, timeInput: 'discrete' };
    const engine = await OrtGradientEngine.create(config, 1);
    try {
      const weights = unetParamSpecs(config).map((s) => new Float32Array(s.shape.reduce((a, b) => a * b, 1)).fill(0.01));
      const x = new Float32Array(8 * 8 * 3).fill(0.5);
      const r = await engine.lossAndGrads(weights, { xIn: x, target: x, time: new Float32Array([10]), weight: new Float32Array([1]) }, 1);
      if (!Number.isFinite(r.loss) || r.grads.some((g) => !g.every(Number.isFinite))) throw new Error('the probe step gave non-finite values');
      return engine.threads;
    } finally {
      await engine.dispose();
    }
  })();
  probed.catch(() => (probed = undefined));
  return probed;
}
