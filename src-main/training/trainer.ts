/**
 * The trainer: data, optimiser, EMA, checkpoints and previews around the UNet (model/) and the
 * diffusion process (diffusion/, through diffusion/model-family.ts) — the model / diffusion / trainer split of
 * lucidrains' denoising-diffusion-pytorch.
 *
 * One optimiser step (Ho et al. 2020, Algorithm 1, generalised): for each of `gradAccum`
 * micro-batches draw images (epoch permutations), flips, noise levels and eps; build
 * x_in = c_in (alpha x0 + sigma_t eps) and the objective's target; loss = mean over the batch of
 * w(level) · mean((F(x_in, time) - target)²); average the micro-batch gradients, clip the global
 * norm, Adam(W) with warm-up/cosine learning rate, then update the EMA.
 *
 * Every random draw is a pure function of (run seed, position) through the counter-based
 * generator of diffusion/rng.ts, so step k sees the same data, levels, noise and dropout masks
 * however the run got there: a resumed run repeats an uninterrupted one.
 */
import * as tf from '@tensorflow/tfjs';
import type { TrainConfig } from '../api/types';
import { normals, uniforms, type Process } from '../diffusion/index';
import { UNet } from '../network/unet';
import { CLASS_EMBEDDING } from '../network/architecture';
import type { UNetConfig } from '../network/config';
import { EMA, emaDecayAt } from '../network/ema';
import { EMA_PREFIX, readTensors, serializeWeights, weightsDigest, type NamedTensorData, type ParsedWeights, type WeightsMeta } from '../network/weights';
import { drawNoiseLevel, lossWeight, processOf, targetOf } from '../diffusion/model-family';
import { Adam, learningRate } from './optimizer';
import { DataParallel, resolveWorkerCount } from './parallel/data-parallel';
import { shardDropoutSeed } from './parallel/shards';
import { shardLossAndGrads } from './parallel/compute';
import type { BatchArrays } from './parallel/shards';
import { OrtGradientEngine } from './onnx/engine';
import { OrtStepEngine } from './onnx/step-engine';
import type { OrtProvider } from '../onnx/session';
import { byteToModel } from '../diffusion/pixels';
import { AUGMENT_DIM, augmentImage, drawAugment, encodeAugment, isIdentity } from './augment';
import { unetConfigOf } from './config';
import { adapterTensorSpecs, initAdapters, mergeAdapters, LoraConfigError, loraAdapterSpecs, loraScale, validateLoraConfig, type AdapterSpec, type LoraConfig } from '../network/lora';
import { loraWeightsTf } from '../network/lora-tf';
import { LORA_BASE_PREFIX } from '../network/lora-file';
import { shardLoss } from './parallel/shards';

/** the augmentation labels' map (network/architecture.ts), absent from models trained without --augment */
const AUG_WEIGHT = 'aug.weight';

/** Philox streams of the training draws (keyed by the run seed; disjoint from sampling's streams). */
export const TRAIN_STREAMS = {
  permutation: 2 ** 41,
  level: 2 ** 41 + 1,
  noise: 2 ** 41 + 2,
  flip: 2 ** 41 + 3,
  levelNormal: 2 ** 41 + 4,
  /** class-conditional runs: one uniform per image decides whether its label becomes the null class */
  condDropout: 2 ** 41 + 5,
} as const;

export const OPT_M_PREFIX = 'opt.m.';
export const OPT_V_PREFIX = 'opt.v.';
export const CHECKPOINT_KIND = 'sfumato-checkpoint';
export const CHECKPOINT_VERSION = 1;
export { LORA_BASE_PREFIX } from '../network/lora-file';

let loraCounter = 0;

export interface TrainingData {
  /** prepared pixels, NHWC uint8, count * size * size * channels */
  pixels: Uint8Array;
  count: number;
  size: number;
  channels: number;
  /** class-conditional runs: each image's label (0..K-1, K = unlabelled = the null class) */
  labels?: Int32Array;
}

export interface StepResult {
  /** mean weighted loss over the step's micro-batches */
  loss: number;
  /** global gradient norm before clipping */
  gradNorm: number;
  lr: number;
}

export { unetConfigOf } from './config';

/**
 * Label dropout of classifier-free guidance training (Ho & Salimans 2022, Algorithm 1: "c ← ∅ with
 * probability p_uncond"): row b keeps its label unless u_b < p, u_b being the uniform of the
 * condDropout stream at data position pos + b, so a step's labels are a pure function of (run seed,
 * position) and resume repeats them. K is the null class.
 */
export function dropLabels(labels: Int32Array, p: number, nullClass: number, seed: number, pos: number): Int32Array {
  const u = uniforms(seed, TRAIN_STREAMS.condDropout, labels.length, pos);
  return Int32Array.from(labels, (l, b) => (u[b] < p ? nullClass : l));
}

/** Fisher–Yates permutation of 0..n-1 for one epoch, from uniforms of the permutation stream. */
function epochPermutation(seed: number, epoch: number, n: number): Uint32Array {
  const perm = new Uint32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  const u = uniforms(seed, TRAIN_STREAMS.permutation, n, epoch * n);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(u[i] * (i + 1));
    const tmp = perm[i];
    perm[i] = perm[j];
    perm[j] = tmp;
  }
  return perm;
}

export interface TrainerInit {
  /** start from these weights (fine-tuning or resume); EMA weights are used when present and `preferEma` */
  init?: { parsed: ParsedWeights; preferEma: boolean };
  /** resume: take the step, EMA and optimiser state from the checkpoint too */
  resume?: boolean;
  /** fine-tune: also take the optimiser moments from the checkpoint (default false) */
  keepOptimizer?: boolean;
  /** data parallelism: the tfjs backend whose replicas the workers run (default: the active one)
   *  and whether the coordinator computes a shard itself (default false) */
  parallel?: { backend?: string; localShard?: boolean };
  /** where loss gradients are computed: tfjs (default; the active backend, with data-parallel
   *  workers on wasm/cpu) or ONNX Runtime's native CPU kernels (training/onnx; the ladder's
   *  'onnxruntime' rung: by default the optimiser and EMA run there too, see stepEngine) */
  gradients?: 'tfjs' | 'onnxruntime';
  /** with gradients 'onnxruntime': the whole step (gradients, clipping, Adam(W), EMA) as one ONNX
   *  Runtime graph whose state stays in ORT between steps ('one-graph', the default), or ORT
   *  gradients with the optimiser and EMA in tfjs ('tfjs-optimizer': the previous engine, kept as
   *  the reference of the tests) */
  stepEngine?: 'one-graph' | 'tfjs-optimizer';
  /** the ONNX Runtime engine's execution provider, already chosen (training/onnx/provider-probe.ts);
   *  default cpu */
  provider?: OrtProvider;
}

export class Trainer {
  private readonly tfModel: UNet;
  private readonly tfEma: EMA;
  private readonly tfOptimizer: Adam;
  readonly process: Process;
  private permCache: { epoch: number; perm: Uint32Array } | undefined;
  /** data-parallel gradient workers (undefined: gradients computed in-process) */
  private readonly parallel: DataParallel | undefined;
  /** ONNX Runtime gradient engine (gradients 'onnxruntime', stepEngine 'tfjs-optimizer'), created asynchronously */
  private readonly ort: Promise<OrtGradientEngine> | undefined;
  /** one-graph engine (gradients 'onnxruntime', stepEngine 'one-graph'): holds the live state */
  private readonly ortStep: Promise<OrtStepEngine> | undefined;
  /** the one-graph engine has stepped since the tfjs model, EMA and optimiser were last synced */
  private tfjsStale = false;
  /** the one-graph engine once created (for the synchronous syncTfjs) */
  private resolvedStep: OrtStepEngine | undefined;
  /** with gradients 'onnxruntime': where the optimiser and EMA run */
  readonly stepEngine: 'one-graph' | 'tfjs-optimizer' | undefined;
  /** shards per micro-batch: 1 in-process, else the workers (+1 with a local shard) */
  readonly shards: number;
  /** where the loss gradients are computed */
  readonly gradients: 'tfjs' | 'onnxruntime';
  /** optimiser steps completed */
  step = 0;
  /** LoRA fine-tuning (config.lora): the adapters, their scale α/r and their tf.Variables (the
   *  trainable state: Adam and EMA run over these; the UNet's variables hold the frozen base) */
  readonly lora: { config: LoraConfig; adapters: AdapterSpec[]; scale: number; vars: tf.Variable[] } | undefined;

  constructor(
    readonly config: TrainConfig,
    readonly seed: number,
    readonly data: TrainingData,
    init: TrainerInit = {},
  ) {
    if (data.size !== config.imageSize) {
      throw new Error(`The dataset cache is ${data.size} px but the run trains at ${config.imageSize} px; re-import the dataset at ${config.imageSize} px.`);
    }
    if (data.channels !== 3) throw new Error(`The dataset cache has ${data.channels} channels; Sfumato trains on RGB (3).`);
    if (config.classConditional) {
      const K = (config.classes ?? []).length;
      if (K < 1) throw new Error('A class-conditional run needs the classes of a labelled dataset; import it with --labels subfolders.');
      if (!data.labels || data.labels.length !== data.count) throw new Error(`A class-conditional run needs one label per training image (${data.count}), got ${data.labels?.length ?? 0}.`);
      if (data.labels.some((l) => l < 0 || l > K)) throw new Error(`Training labels must lie in 0..${K} (${K} = unlabelled).`);
    }
    this.process = processOf(config.schedule);
    const parsed = init.init?.parsed;
    if (config.lora) {
      // checked before any allocation: LoRA adapts an existing model
      if (!parsed) throw new LoraConfigError('init', 'LoRA fine-tunes an existing model: give --init-model ID or --init-checkpoint ID (or resume a LoRA run)');
      if (init.resume && !hasPrefix(parsed, LORA_BASE_PREFIX)) throw new LoraConfigError('resume', 'the checkpoint is not from a LoRA run (it has no base weights); resume it without --lora-rank');
      if (init.gradients === 'onnxruntime' && init.stepEngine === 'tfjs-optimizer') throw new LoraConfigError('stepEngine', "LoRA trains on the one-graph ONNX Runtime engine or on tfjs; use the default step engine");
    }
    this.tfModel = new UNet(unetConfigOf(config), { seed });
    // Fine-tuning a model trained without augmentation labels with --augment: aug.weight starts at
    // zero, so the network starts exactly as the base model. An unconditional model fine-tuned with
    // --class-conditional keeps nn.Embedding's N(0, 1) rows for its classes but a zero null row, so
    // the unconditional half of guidance starts exactly as the base model. (A zero class table
    // was tried first: after 12,000 steps at lr 1e-4 its rows had grown only to RMS 0.01 and the
    // emoji base model ignored the class: docs/design-notes.md §Class conditioning.)
    if (parsed) this.loadInto(this.tfModel.namedVariables(), parsed, init.resume ? (config.lora ? LORA_BASE_PREFIX : '') : init.init!.preferEma && hasPrefix(parsed, EMA_PREFIX) ? EMA_PREFIX : '', init.resume ? [] : [AUG_WEIGHT, CLASS_EMBEDDING]);
    const meta = (parsed?.meta ?? {}) as Record<string, unknown>;
    if (config.lora) {
      const lc = validateLoraConfig(config.lora);
      const adapters = loraAdapterSpecs(this.tfModel.config, lc);
      const specs = adapterTensorSpecs(adapters);
      const values = initAdapters(adapters, seed);
      this.lora = { config: lc, adapters, scale: loraScale(lc), vars: specs.map((t, i) => tf.variable(tf.tensor(values[i], t.shape, 'float32'), true, `lora${loraCounter}/${t.name}`)) };
      loraCounter++;
      if (init.resume) this.loadInto(specs.map((t, i) => ({ name: t.name, variable: this.lora!.vars[i] })), parsed!, '');
    } else this.lora = undefined;
    const trainVars = this.trainVariables();
    this.tfEma = new EMA(trainVars, {
      decay: config.ema,
      warmup: config.emaWarmup,
      updates: init.resume ? Number(meta.emaUpdates ?? 0) : 0,
    });
    // LoRA: decay on every adapter tensor (kohya's default optimiser setup); else conv/linear weights
    const decayMask = this.lora ? trainVars.map(() => true) : this.tfModel.specs.map((s) => s.role === 'weight' && s.kind !== 'norm');
    this.tfOptimizer = new Adam(trainVars, {
      weightDecay: config.optimizer === 'adamw' ? config.weightDecay : 0,
      decayMask,
    });
    if (parsed && init.resume) {
      this.step = Number(meta.step ?? 0);
      this.restoreEma(parsed);
      this.restoreOptimizer(parsed, Number(meta.optimizerStep ?? this.step));
    } else if (parsed && init.keepOptimizer && !this.lora && hasPrefix(parsed, OPT_M_PREFIX)) {
      this.restoreOptimizer(parsed, Number(meta.optimizerStep ?? 0));
    }
    // Data-parallel workers (config.workers: 0 = one per physical core on wasm, in-process elsewhere).
    // Started once here; their replicas build while the caller prepares the first step.
    const backend = init.parallel?.backend ?? tf.getBackend();
    const workers = resolveWorkerCount(config.workers, backend, config.batchSize);
    this.gradients = init.gradients ?? 'tfjs';
    this.stepEngine = init.gradients === 'onnxruntime' ? (init.stepEngine ?? 'one-graph') : undefined;
    if (init.gradients === 'onnxruntime') {
      // ORT parallelises inside each op; `workers` > 0 sets its thread count
      const threads = config.workers > 0 ? config.workers : undefined;
      const failed = (e: unknown): never => {
        throw new Error(`The ONNX Runtime training graph could not start: ${(e as Error).message}. Train with the wasm backend instead (Train page → Advanced → Backend, or --backend wasm).`);
      };
      if (this.stepEngine === 'one-graph') {
        this.ortStep = OrtStepEngine.create(this.tfModel.config, config.batchSize, {
          threads,
          provider: init.provider,
          gradAccum: config.gradAccum,
          beta1: this.tfOptimizer.beta1,
          beta2: this.tfOptimizer.beta2,
          epsilon: this.tfOptimizer.epsilon,
          weightDecay: this.tfOptimizer.weightDecay,
          decayMask,
          lora: this.lora ? { adapters: this.lora.adapters, scale: this.lora.scale } : undefined,
        }).catch(failed);
        this.ortStep.catch(() => {}); // surfaced by the first trainStep
      } else {
        this.ort = OrtGradientEngine.create(this.tfModel.config, config.batchSize, { threads, provider: init.provider }).catch(failed);
        this.ort.catch(() => {}); // surfaced by the first trainStep
      }
      this.shards = 1;
    } else if (!this.lora && workers > 1 && (backend === 'wasm' || backend === 'cpu')) {
      const localShard = !!init.parallel?.localShard;
      this.parallel = new DataParallel(this.tfModel, { workers: localShard ? workers - 1 : workers, backend, localShard });
      this.shards = workers;
    } else this.shards = 1;
  }

  private loadInto(targets: { name: string; variable: tf.Variable }[], parsed: ParsedWeights, prefix: string, initIfMissing: readonly string[] = []): void {
    const byName = new Map(parsed.tensors.map((t) => [t.name, t]));
    tf.tidy(() => {
      for (const { name, variable } of targets) {
        const src = byName.get(prefix + name);
        if (!src && initIfMissing.includes(name)) {
          if (name === CLASS_EMBEDDING) {
            // rows 0..K-1 keep their initial values; row K (the null class) is zeroed
            const rows = variable.shape[0];
            variable.assign(tf.mul(variable, tf.concat([tf.ones([rows - 1, 1]), tf.zeros([1, 1])])));
          } else variable.assign(tf.zerosLike(variable));
          continue;
        }
        if (!src) throw new Error(`The checkpoint has no weights for ${prefix + name}; it was trained with a different architecture.`);
        if (src.shape.join('x') !== variable.shape.join('x')) {
          throw new Error(`Checkpoint tensor ${prefix + name} has shape ${src.shape.join('x')}, the model expects ${variable.shape.join('x')}.`);
        }
        variable.assign(tf.tensor(src.data, variable.shape));
      }
    });
  }

  /** The trainable variables: the adapters (LoRA) or the UNet's weights. */
  private trainVariables(): tf.Variable[] {
    return this.lora ? this.lora.vars.slice() : this.tfModel.variables();
  }

  /** Names of trainVariables(): kohya adapter names (LoRA) or state_dict keys. */
  private trainNames(): string[] {
    return this.lora ? adapterTensorSpecs(this.lora.adapters).map((t) => t.name) : this.tfModel.specs.map((s) => s.name);
  }

  private restoreEma(parsed: ParsedWeights): void {
    const named = this.trainNames().map((name) => ({ name }));
    const shadows = this.tfEma.shadows();
    this.loadInto(
      named.map(({ name }, i) => ({ name, variable: shadows[i] })),
      parsed,
      EMA_PREFIX,
    );
  }

  private restoreOptimizer(parsed: ParsedWeights, step: number): void {
    const byName = new Map(parsed.tensors.map((t) => [t.name, t.data]));
    const names = this.trainNames();
    const m = names.map((n) => byName.get(OPT_M_PREFIX + n));
    const v = names.map((n) => byName.get(OPT_V_PREFIX + n));
    if (m.some((x) => !x) || v.some((x) => !x)) throw new Error('The checkpoint has no complete optimiser state; resume needs one (or fine-tune with resetOptimizer).');
    this.tfOptimizer.setState(step, m as Float32Array[], v as Float32Array[]);
  }

  /** Dataset indices for data-pipeline positions [pos, pos + n). */
  indicesAt(pos: number, n: number): Uint32Array {
    const { count } = this.data;
    const out = new Uint32Array(n);
    for (let b = 0; b < n; b++) {
      const p = pos + b;
      const epoch = Math.floor(p / count);
      if (!this.permCache || this.permCache.epoch !== epoch) this.permCache = { epoch, perm: epochPermutation(this.seed, epoch, count) };
      out[b] = this.permCache.perm[p % count];
    }
    return out;
  }

  /**
   * Inputs of micro-batch `micro` of optimiser step `step` (0-based): network input, time input,
   * target and per-sample weight, as flat NHWC arrays. Data position = (step·gradAccum + micro)·B.
   */
  microBatch(step: number, micro: number): BatchArrays {
    const { size, channels, pixels } = this.data;
    const c = this.config;
    const B = c.batchSize;
    const per = size * size * channels;
    const pos = (step * c.gradAccum + micro) * B;
    const idx = this.indicesAt(pos, B);
    const u = uniforms(this.seed, TRAIN_STREAMS.level, B, pos);
    const n = normals(this.seed, TRAIN_STREAMS.levelNormal, B, pos);
    const flips = c.hflip ? uniforms(this.seed, TRAIN_STREAMS.flip, B, pos) : undefined;
    const eps = normals(this.seed, TRAIN_STREAMS.noise, B * per, pos * per);
    const xIn = new Float32Array(B * per);
    const target = new Float32Array(B * per);
    const time = new Float32Array(B);
    const weight = new Float32Array(B);
    const augDim = this.model.config.augmentDim ?? 0;
    const augment = augDim > 0 ? new Float32Array(B * augDim) : undefined;
    const rowLen = size * channels;
    // float64, as byteToModel returns: without augmentation the numbers are those of earlier versions
    const image = new Float64Array(per);
    for (let b = 0; b < B; b++) {
      const d = drawNoiseLevel(this.process, c.schedule, u[b], n[b]);
      time[b] = d.netTime;
      weight[b] = lossWeight(c, d);
      const flip = flips !== undefined && flips[b] < 0.5;
      const src = idx[b] * per;
      const dst = b * per;
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          const sx = flip ? size - 1 - x : x;
          for (let ch = 0; ch < channels; ch++) image[y * rowLen + x * channels + ch] = byteToModel(pixels[src + y * rowLen + sx * channels + ch]);
        }
      }
      // non-leaking augmentation of the clean image, its labels to the network (training/augment.ts)
      let x0s = image;
      if (augment) {
        const params = drawAugment(this.seed, pos + b, c.augment, size);
        if (!isIdentity(params)) x0s = augmentImage(image, size, channels, params);
        augment.set(encodeAugment(params, size), b * augDim);
      }
      const a = d.cIn * d.alpha;
      const s = d.cIn * d.sigmaT;
      for (let i = 0; i < per; i++) {
        const x0 = x0s[i];
        const e = eps[dst + i];
        xIn[dst + i] = a * x0 + s * e;
        target[dst + i] = targetOf(c.objective, d, x0, e);
      }
    }
    const out: BatchArrays = augment ? { xIn, time, target, weight, augment } : { xIn, time, target, weight };
    if (!c.classConditional || !this.data.labels) return out;
    const K = (c.classes ?? []).length;
    const labels = Int32Array.from(idx, (i) => this.data.labels![i]);
    return { ...out, labels: dropLabels(labels, c.condDropout ?? 0, K, this.seed, pos) };
  }

  /**
   * One optimiser step (gradAccum micro-batches). With data-parallel workers each micro-batch is
   * cut into `shards` row shards whose losses and gradients are summed (the loss stays the mean
   * over the full batch); clipping, Adam and EMA then run here exactly as in-process. Each shard
   * has its own dropout seed (parallel/shards.ts shardDropoutSeed) and the shard sums' float order
   * follows the shards, so a run's numbers depend on its worker count: a resume with the same
   * worker count reproduces an uninterrupted run exactly, another count only up to float
   * summation order (and, with dropout, different masks). A worker failure rejects the step.
   */
  async trainStep(): Promise<StepResult> {
    if (this.ortStep) return this.oneGraphStep(await this.ortStep);
    const c = this.config;
    const B = c.batchSize;
    const k = this.step + 1;
    const lr = learningRate(k, c);
    let lossSum = 0;
    let acc: tf.Tensor[] | undefined;
    if (this.parallel) this.parallel.syncWeights();
    const engine = this.ort ? await this.ort : undefined;
    const weights = engine ? this.tfModel.variables().map((v) => v.dataSync() as Float32Array) : undefined;
    try {
      for (let micro = 0; micro < c.gradAccum; micro++) {
        const mb = this.microBatch(this.step, micro);
        const seedOf = (shard: number) => shardDropoutSeed(this.seed, k, micro, shard, this.shards);
        const { loss, grads: list } = this.lora
          ? this.loraLossAndGrads(mb, seedOf(0))
          : engine
          ? await this.ortLossAndGrads(engine, weights!, mb, seedOf(0))
          : this.parallel
            ? await this.parallel.lossAndGrads(mb, B, seedOf)
            : shardLossAndGrads(this.tfModel, mb, B, B, seedOf(0));
        lossSum += loss;
        if (!acc) acc = list;
        else {
          const prev = acc;
          acc = tf.tidy(() => prev.map((g, i) => tf.add(g, list[i])));
          tf.dispose(prev);
          tf.dispose(list);
        }
      }
    } catch (e) {
      if (acc) tf.dispose(acc);
      throw e;
    }
    const loss = lossSum / c.gradAccum;
    if (!Number.isFinite(loss)) {
      tf.dispose(acc!);
      throw new Error(`The loss became ${loss} at step ${k}; lower the learning rate (lr ${c.lr}) or enable gradient clipping.`);
    }
    const { gradNorm, clipped } = tf.tidy(() => {
      const avg = c.gradAccum > 1 ? acc!.map((g) => tf.div(g, c.gradAccum)) : acc!;
      const norm = tf.sqrt(tf.addN(avg.map((g) => tf.sum(tf.square(g)))));
      const gn = norm.dataSync()[0];
      // Global-norm clipping (Pascanu et al. 2013): g ← g · min(1, clip / ‖g‖).
      const scale = c.gradClip > 0 && gn > c.gradClip ? c.gradClip / (gn + 1e-6) : 1;
      const out = scale === 1 ? avg.map((g) => tf.clone(g)) : avg.map((g) => tf.mul(g, scale));
      return { gradNorm: gn, clipped: out.map((t) => tf.keep(t)) };
    });
    tf.dispose(acc!);
    this.tfOptimizer.apply(clipped, lr);
    tf.dispose(clipped);
    this.tfEma.update();
    this.step = k;
    return { loss, gradNorm, lr };
  }

  /**
   * trainStep on the one-graph engine: the same micro-batches, dropout seeds, learning rate, clip
   * and EMA decay as the tfjs path, one ORT run per micro-batch; the state stays in the engine
   * (the tfjs model, EMA and optimiser are refreshed lazily, see syncTfjs).
   */
  private async oneGraphStep(engine: OrtStepEngine): Promise<StepResult> {
    const c = this.config;
    const k = this.step + 1;
    const lr = learningRate(k, c);
    this.resolvedStep = engine;
    if (!engine.hasState) {
      // first step: the state comes from tfjs (fresh init, fine-tune or resume loaded it there)
      const st = this.tfOptimizer.state();
      const read = (list: readonly tf.Tensor[]) => list.map((t) => t.dataSync() as Float32Array);
      if (this.lora) engine.setFrozen(read(this.tfModel.variables()));
      engine.setState({ params: read(this.trainVariables()), m: read(st.m), v: read(st.v), ema: read(this.tfEma.shadows()) }, { adamStep: this.tfOptimizer.step, emaUpdates: this.tfEma.updates });
    }
    const r = await engine.step({
      lr,
      clip: c.gradClip,
      emaDecay: emaDecayAt(this.tfEma.decay, this.tfEma.warmup, engine.emaUpdates),
      fullBatch: c.batchSize,
      micro: (micro) => ({ batch: this.microBatch(this.step, micro), dropoutSeed: shardDropoutSeed(this.seed, k, micro, 0, this.shards) }),
    });
    if (!r.applied) throw new Error(`The loss became ${r.loss} at step ${k}; lower the learning rate (lr ${c.lr}) or enable gradient clipping.`);
    this.tfjsStale = true;
    this.step = k;
    return { loss: r.loss, gradNorm: r.gradNorm, lr };
  }

  /**
   * Copies the one-graph engine's state (PyTorch layout) into the tfjs model, EMA and optimiser,
   * once per change: the getters `model`, `ema` and `optimizer` and everything that reads them
   * (checkpoints, previews, weightsDigest) see the current weights.
   */
  private syncTfjs(): void {
    if (!this.tfjsStale) return;
    // only oneGraphStep sets tfjsStale, after it has set resolvedStep
    const engine = this.resolvedStep;
    if (!engine) throw new Error('Trainer: the one-graph engine is not ready (internal error)');
    const st = engine.getState();
    const vars = this.trainVariables();
    tf.tidy(() => {
      vars.forEach((v, i) => v.assign(tf.tensor(st.params[i], v.shape, 'float32')));
      this.tfEma.setShadows(
        st.ema.map((e, i) => tf.tensor(e, vars[i].shape, 'float32')),
        engine.emaUpdates,
      );
    });
    this.tfOptimizer.setState(engine.adamStep, st.m, st.v);
    this.tfjsStale = false;
  }

  /** The UNet (tfjs) with the current weights. */
  get model(): UNet {
    this.syncTfjs();
    return this.tfModel;
  }

  /** The EMA of the weights (tfjs), current. */
  get ema(): EMA {
    this.syncTfjs();
    return this.tfEma;
  }

  /** The Adam(W) state (tfjs), current. */
  get optimizer(): Adam {
    this.syncTfjs();
    return this.tfOptimizer;
  }

  /**
   * LoRA on tfjs: loss and adapter gradients of one micro-batch through UNet.apply's `weights`
   * (each adapted weight W + scale·up·down, network/lora.ts loraWeightsTf); the base is constant.
   */
  private loraLossAndGrads(mb: BatchArrays, dropoutSeed: number): { loss: number; grads: tf.Tensor[] } {
    const lora = this.lora!;
    const model = this.tfModel;
    const { imageSize: S, inChannels: C } = model.config;
    const B = this.config.batchSize;
    const base = model.variables();
    const { value, grads } = tf.tidy(() => {
      const xT = tf.tensor4d(mb.xIn, [B, S, S, C]);
      const tT = tf.tensor1d(mb.time);
      const yT = tf.tensor4d(mb.target, [B, S, S, C]);
      const wT = tf.tensor4d(mb.weight, [B, 1, 1, 1]);
      return tf.variableGrads(() => {
        const weights = loraWeightsTf(base, model.specs, lora.adapters, lora.vars, lora.scale);
        return shardLoss(model.apply(xT, tT, { training: true, dropoutSeed, weights }), yT, wT, B);
      }, lora.vars);
    });
    const loss = value.dataSync()[0];
    value.dispose();
    return { loss, grads: lora.vars.map((v) => grads[v.name]) };
  }

  private async ortLossAndGrads(engine: OrtGradientEngine, weights: Float32Array[], mb: BatchArrays, dropoutSeed: number): Promise<{ loss: number; grads: tf.Tensor[] }> {
    const r = await engine.lossAndGrads(weights, mb, this.config.batchSize, dropoutSeed);
    const vars = this.tfModel.variables();
    return { loss: r.loss, grads: r.grads.map((g, i) => tf.tensor(g, vars[i].shape, 'float32')) };
  }

  /** Named weights of the model, its EMA and the optimiser moments. */
  namedState(): NamedTensorData[] {
    if (this.lora) return this.loraNamedState();
    const named = this.model.namedVariables();
    const tensors: NamedTensorData[] = readTensors(named.map(({ name, variable }) => ({ name, tensor: variable })));
    const shadows = this.ema.shadows();
    tensors.push(...readTensors(named.map(({ name }, i) => ({ name: EMA_PREFIX + name, tensor: shadows[i] }))));
    const st = this.optimizer.state();
    tensors.push(...readTensors(named.map(({ name }, i) => ({ name: OPT_M_PREFIX + name, tensor: st.m[i] }))));
    tensors.push(...readTensors(named.map(({ name }, i) => ({ name: OPT_V_PREFIX + name, tensor: st.v[i] }))));
    return tensors;
  }

  /**
   * LoRA checkpoint tensors: the merged model (base + α/r·up·down) under the plain names and its
   * EMA-adapter merge under `ema.` (so every reader of checkpoints samples the adapted model at
   * strength 1), the frozen base under `base.`, and the adapters (kohya names), their EMA and
   * Adam moments for an exact resume.
   */
  private loraNamedState(): NamedTensorData[] {
    const lora = this.lora!;
    this.syncTfjs();
    const specs = this.tfModel.specs;
    const base = this.tfModel.variables().map((v) => Float32Array.from(v.dataSync() as Float32Array));
    const names = this.trainNames();
    const shapes = adapterTensorSpecs(lora.adapters).map((t) => t.shape);
    const read = (list: readonly tf.Tensor[]) => list.map((t) => Float32Array.from(t.dataSync() as Float32Array));
    const adapters = read(this.trainVariables());
    const emaAdapters = read(this.ema.shadows());
    const st = this.optimizer.state();
    const cfg = this.tfModel.config;
    const merged = mergeAdapters(cfg, base, lora.adapters, adapters, lora.scale);
    const mergedEma = mergeAdapters(cfg, base, lora.adapters, emaAdapters, lora.scale);
    const out: NamedTensorData[] = [];
    specs.forEach((s, i) => out.push({ name: s.name, shape: s.shape.slice(), data: merged[i] }));
    specs.forEach((s, i) => out.push({ name: EMA_PREFIX + s.name, shape: s.shape.slice(), data: mergedEma[i] }));
    specs.forEach((s, i) => out.push({ name: LORA_BASE_PREFIX + s.name, shape: s.shape.slice(), data: base[i] }));
    const m = read(st.m);
    const v = read(st.v);
    names.forEach((n, i) => {
      out.push({ name: n, shape: shapes[i], data: adapters[i] });
      out.push({ name: EMA_PREFIX + n, shape: shapes[i], data: emaAdapters[i] });
      out.push({ name: OPT_M_PREFIX + n, shape: shapes[i], data: m[i] });
      out.push({ name: OPT_V_PREFIX + n, shape: shapes[i], data: v[i] });
    });
    return out;
  }

  /** LoRA: the adapters (kohya names, PyTorch layout) — `ema` for the averaged ones. */
  adapterTensors(source: 'model' | 'ema' = 'model'): NamedTensorData[] {
    const lora = this.lora;
    if (!lora) throw new Error('Trainer.adapterTensors: not a LoRA run');
    this.syncTfjs();
    const shapes = adapterTensorSpecs(lora.adapters).map((t) => t.shape);
    const list = source === 'ema' ? this.ema.shadows() : this.trainVariables();
    return this.trainNames().map((name, i) => ({ name, shape: shapes[i], data: Float32Array.from(list[i].dataSync() as Float32Array) }));
  }

  /** LoRA: sha256 of the (non-averaged) adapter tensors (weightsDigest rule); exact resume keeps it. */
  adapterDigest(): string {
    return weightsDigest(this.adapterTensors('model'));
  }

  /** Trainable values of this run (the adapters with LoRA) and all values of the model (+ adapters). */
  paramCounts(): { trainableParams: number; totalParams: number } {
    const base = this.tfModel.paramCount();
    const trainable = this.trainVariables().reduce((n, v) => n + v.size, 0);
    return { trainableParams: trainable, totalParams: this.lora ? base + trainable : base };
  }

  /**
   * Weights for previews (the EMA, merged with the base under LoRA), in variables() order. The
   * caller calls `release` when done (it frees the merged copies; the EMA's own are kept).
   */
  previewWeights(): { weights: tf.Tensor[]; release: () => void } {
    const lora = this.lora;
    if (!lora) return { weights: this.ema.shadows(), release: () => {} };
    this.syncTfjs();
    const shadows = this.ema.shadows();
    const weights = tf.tidy(() => loraWeightsTf(this.tfModel.variables(), this.tfModel.specs, lora.adapters, shadows, lora.scale).map((t) => tf.keep(t)));
    const own = new Set(this.tfModel.variables() as tf.Tensor[]);
    return { weights, release: () => weights.forEach((t) => !own.has(t) && t.dispose()) };
  }

  /** sha256 of the model weights as float32, tensors in name order (weights only, not EMA/optimiser). */
  weightsDigest(): string {
    if (this.lora) {
      const specs = this.tfModel.specs;
      const plain = new Set(specs.map((sp) => sp.name));
      return weightsDigest(this.loraNamedState().filter((t) => plain.has(t.name)));
    }
    const named = this.model.namedVariables();
    return weightsDigest(readTensors(named.map(({ name, variable }) => ({ name, tensor: variable }))));
  }

  /** Checkpoint bytes: weights, EMA weights, optimiser state, and everything needed to resume. */
  checkpointBytes(meta: WeightsMeta): Uint8Array {
    return serializeWeights(this.namedState(), {
      ...meta,
      kind: CHECKPOINT_KIND,
      version: CHECKPOINT_VERSION,
      config: this.model.config,
      trainConfig: this.config,
      seed: this.seed,
      step: this.step,
      optimizerStep: this.optimizer.step,
      emaUpdates: this.ema.updates,
      // data-parallel shards per micro-batch and the gradient engine: a resume with another
      // count or engine changes the numbers (float summation order, dropout masks)
      shards: this.shards,
      gradients: this.gradients,
      dataPosition: this.step * this.config.gradAccum * this.config.batchSize,
      rng: { generator: 'philox4x32-10', streams: TRAIN_STREAMS },
      weightsDigest: this.weightsDigest(),
      ...(this.lora ? { lora: { ...this.lora.config, scale: this.lora.scale }, adapterDigest: this.adapterDigest(), ...this.paramCounts() } : {}),
    });
  }

  /** Releases the tensors and terminates the gradient workers (resolves when their threads have exited). */
  dispose(): Promise<void> {
    this.lora?.vars.forEach((v) => v.dispose());
    this.tfOptimizer.dispose();
    this.tfEma.dispose();
    this.tfModel.dispose();
    const release = (p: Promise<{ dispose(): Promise<void> }> | undefined) =>
      p?.then(
        (e) => e.dispose(),
        () => undefined,
      );
    return Promise.all([this.parallel?.dispose(), release(this.ort), release(this.ortStep)]).then(() => undefined);
  }
}

function hasPrefix(parsed: ParsedWeights, prefix: string): boolean {
  return parsed.tensors.some((t) => t.name.startsWith(prefix));
}
