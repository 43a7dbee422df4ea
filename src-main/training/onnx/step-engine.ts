/**
 * The one-graph training engine: parameters, Adam moments and EMA weights live here as four flat
 * ONNX Runtime tensors (PyTorch layout, step-graph.ts flatLayout), and one run of the step graph
 * turns them into the next step's, whose outputs are fed straight back as the next run's inputs.
 * Nothing goes through tfjs per step; getState() converts to tfjs layout for checkpoints,
 * previews and export.
 *
 * Gradient accumulation (gradAccum > 1): micro-batches 1..n-1 run the gradient graph
 * (step-graph.ts buildFlatGradGraph) and their gradients are summed here in micro-batch order
 * (float32 adds, as the tfjs path's tf.add chain); the last micro-batch runs the step graph with
 * that sum as input, which adds its own gradient, divides by n and applies clip, Adam and EMA.
 * docs/design-notes.md §One-graph training step says why.
 */
import type * as Ort from 'onnxruntime-node';
import { unetParamSpecs, type ParamSpec } from '../../network/architecture';
import type { UNetConfig } from '../../network/config';
import type { AdapterSpec } from '../../network/lora';
import { hwioToOihw, transpose2d } from '../../onnx/export';
import { nchwcBlockSize } from '../../onnx/nchwc';
import { createOrtSession, physicalCoreCount, type OrtProvider, type OrtSession, type OrtSessionOptions } from '../../onnx/session';
import type { BatchArrays } from '../parallel/shards';
import { batchFeeds } from './engine';
import { buildFlatGradGraph, buildStepGraph, maxFanInFor, FLAT, NEW_PREFIX, STEP_GRAD_NORM, STEP_INPUTS, type StepGraph } from './step-graph';
import { TRAIN_GRAPH_LOSS } from './train-graph';

/** OIHW [cout, cin, kh, kw] -> tfjs HWIO [kh, kw, cin, cout] (inverse of onnx/export.ts hwioToOihw). */
export function oihwToHwio(w: Float32Array, [cout, cin, kh, kw]: number[]): Float32Array {
  const out = new Float32Array(w.length);
  for (let o = 0; o < cout; o++)
    for (let i = 0; i < cin; i++)
      for (let y = 0; y < kh; y++) {
        const src = ((o * cin + i) * kh + y) * kw;
        for (let x = 0; x < kw; x++) out[((y * kw + x) * cin + i) * cout + o] = w[src + x];
      }
  return out;
}

/** A tensor of `spec` from tfjs layout to PyTorch layout (a copy). */
export function toTorchLayout(spec: ParamSpec, data: Float32Array): Float32Array {
  if (spec.role === 'weight' && spec.kind === 'conv') return hwioToOihw(data, spec.shape);
  if (spec.role === 'weight' && spec.kind === 'linear') return transpose2d(data, spec.shape);
  return data.slice();
}

/** A tensor of `spec` from PyTorch layout back to tfjs layout (a copy). */
export function fromTorchLayout(spec: ParamSpec, data: Float32Array): Float32Array {
  if (spec.role === 'weight' && spec.kind === 'conv') return oihwToHwio(data, spec.torchShape);
  if (spec.role === 'weight' && spec.kind === 'linear') return transpose2d(data, spec.torchShape);
  return data.slice();
}

/** Parameters, moments and EMA in tfjs layout, unetParamSpecs order (checkpoint tensors). */
export interface TfjsLayoutState {
  params: Float32Array[];
  m: Float32Array[];
  v: Float32Array[];
  ema: Float32Array[];
}

export interface OrtStepEngineOptions {
  /** micro-batches per optimiser step (default 1) */
  gradAccum?: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  /** decoupled weight decay λ (AdamW); 0 = Adam */
  weightDecay?: number;
  /** which parameters get weight decay (default: conv and linear weights) */
  decayMask?: readonly boolean[];
  /** intra-op threads (default one per physical core) */
  threads?: number;
  /** execution provider (default 'cpu') */
  provider?: OrtProvider;
  appVersion?: string;
  profilePrefix?: string;
  groupNorm?: 'decomposed' | 'layernorm';
  /** ORT session knobs (onnx/session.ts defaults: optimisation level 'all', spinning threads) */
  session?: Pick<OrtSessionOptions, 'graphOptimizationLevel' | 'spin'>;
  /** let ORT write each step's new state into the previous step's input buffers (two sets of
   *  state buffers swapped every step) instead of its own output allocations (default true).
   *  onnxruntime-node 1.30 still copies every output into a new ArrayBuffer on return (the state
   *  the engine adopts), so four new 4·P-byte vectors a step remain (docs/design-notes.md
   *  §One-graph training step) */
  preallocate?: boolean;
  /** LoRA: the state (params, moments, EMA) is the adapters' down/up tensors (adapterTensorSpecs
   *  order, PyTorch/kohya layout, no conversion); the base weights are frozen inputs (setFrozen) */
  lora?: { adapters: readonly AdapterSpec[]; scale: number };
  /** CPU provider: convolutions on ORT's NCHWc kernels where this CPU has them (default true;
   *  false keeps plain Conv, for A/B measurements) */
  nchwc?: boolean;
}

export interface OrtStepInput {
  /** learning rate of this step (optimizer.ts learningRate) */
  lr: number;
  /** global-norm clip threshold, 0 = none */
  clip: number;
  /** this update's EMA decay (network/ema.ts emaDecayAt) */
  emaDecay: number;
  /** images per micro-batch of the full step (the loss normaliser) */
  fullBatch: number;
  /** micro-batch i of the step and its dropout seed */
  micro: (i: number) => { batch: BatchArrays; dropoutSeed?: number };
}

export interface OrtStepResult {
  /** mean of the micro-batch losses */
  loss: number;
  /** global gradient norm before clipping */
  gradNorm: number;
  /** false when the loss was not finite: the state was left as it was */
  applied: boolean;
}

/** The flat state vectors (step-graph.ts flatLayout). */
interface State {
  params: Ort.Tensor;
  m: Ort.Tensor;
  v: Ort.Tensor;
  ema: Ort.Tensor;
}

export class OrtStepEngine {
  private state: State | undefined;
  /** the buffers the next step's outputs are written into (double buffering; undefined until the first step) */
  private spare: State | undefined;
  /** write outputs into preallocated buffers (OrtStepEngineOptions.preallocate) */
  private readonly preallocate: boolean;
  /** LoRA: the frozen base weights as ORT tensors (graph.frozen order) */
  private frozenFeeds: Ort.Tensor[] | undefined;
  /** Adam steps taken (k of the bias corrections) */
  adamStep = 0;
  /** EMA updates made */
  emaUpdates = 0;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly weightDecay: number;
  readonly gradAccum: number;

  private constructor(
    readonly config: UNetConfig,
    readonly rows: number,
    readonly graph: StepGraph,
    private readonly session: OrtSession,
    /** gradient-only graph of micro-batches 1..n-1 (gradAccum > 1) */
    private readonly grad: { graph: StepGraph; session: OrtSession } | undefined,
    private readonly specs: ParamSpec[],
    o: Required<Pick<OrtStepEngineOptions, 'beta1' | 'beta2' | 'epsilon' | 'weightDecay' | 'gradAccum' | 'preallocate'>>,
    private readonly baseSpecs: ParamSpec[],
  ) {
    this.preallocate = o.preallocate;
    this.beta1 = o.beta1;
    this.beta2 = o.beta2;
    this.epsilon = o.epsilon;
    this.weightDecay = o.weightDecay;
    this.gradAccum = o.gradAccum;
  }

  /** Builds the step graph (and the gradient graph when gradAccum > 1) and opens their sessions. */
  static async create(config: UNetConfig, rows: number, opts: OrtStepEngineOptions = {}): Promise<OrtStepEngine> {
    const gradAccum = opts.gradAccum ?? 1;
    if (!Number.isInteger(gradAccum) || gradAccum < 1) throw new Error(`OrtStepEngine: gradAccum must be a positive integer, got ${gradAccum}`);
    const base = unetParamSpecs(config);
    // LoRA adapters travel in PyTorch layout on both sides: specs whose layout conversion is a copy
    const specs: ParamSpec[] = opts.lora
      ? opts.lora.adapters.flatMap((a) => [
          { name: a.down, shape: a.downShape, torchShape: a.downShape, kind: 'norm' as const, role: 'weight' as const, fanIn: a.fanIn },
          { name: a.up, shape: a.upShape, torchShape: a.upShape, kind: 'norm' as const, role: 'weight' as const, fanIn: a.downShape[0] },
        ])
      : base;
    const weightDecay = opts.weightDecay ?? 0;
    const decayMask = opts.decayMask ?? (opts.lora ? specs.map(() => true) : specs.map((s) => s.role === 'weight' && s.kind !== 'norm'));
    const o = { beta1: opts.beta1 ?? 0.9, beta2: opts.beta2 ?? 0.999, epsilon: opts.epsilon ?? 1e-8, weightDecay, gradAccum, preallocate: opts.preallocate ?? true };
    // ORT's NCHWc convolution kernels exist on its CPU provider only
    const nchwcBlock = (opts.provider ?? 'cpu') === 'cpu' && opts.nchwc !== false ? await nchwcBlockSize() : 0;
    const graph = buildStepGraph(config, rows, { ...o, producerVersion: opts.appVersion, groupNorm: opts.groupNorm, decayMask, weightDecay: weightDecay > 0, accumulate: gradAccum > 1, maxFanIn: maxFanInFor(opts.provider), lora: opts.lora, nchwcBlock });
    const sessionOpts = { ...opts.session, provider: opts.provider ?? 'cpu', strict: true, intraOpThreads: opts.threads ?? physicalCoreCount(), reuse: false } as const;
    const session = await createOrtSession(graph.model, { ...sessionOpts, profilePrefix: opts.profilePrefix });
    let grad: { graph: StepGraph; session: OrtSession } | undefined;
    try {
      if (gradAccum > 1) {
        const g = buildFlatGradGraph(config, rows, { producerVersion: opts.appVersion, groupNorm: opts.groupNorm, decayMask, maxFanIn: maxFanInFor(opts.provider), lora: opts.lora, nchwcBlock });
        grad = { graph: g, session: await createOrtSession(g.model, sessionOpts) };
      }
    } catch (e) {
      await session.dispose();
      throw e;
    }
    return new OrtStepEngine(config, rows, graph, session, grad, specs, o, base);
  }

  /** LoRA engines: the frozen base weights (tfjs layout, unetParamSpecs order), fed to every run. */
  setFrozen(base: readonly Float32Array[]): void {
    const ort = this.session.ort;
    if (this.graph.frozen.length === 0) throw new Error('OrtStepEngine.setFrozen: this engine has no frozen weights (not a LoRA engine)');
    if (base.length !== this.baseSpecs.length) throw new Error(`OrtStepEngine.setFrozen: ${base.length} tensors for ${this.baseSpecs.length} base parameters`);
    this.frozenFeeds = this.graph.frozen.map((f, i) => new ort.Tensor('float32', toTorchLayout(this.baseSpecs[i], base[i]), f.dims));
  }

  get threads(): number {
    return this.session.intraOpThreads;
  }

  get provider(): OrtProvider {
    return this.session.provider;
  }

  /** Whether the engine holds a state (setState was called). */
  get hasState(): boolean {
    return this.state !== undefined;
  }

  /** Loads parameters, moments and EMA (tfjs layout) and the step counters. */
  setState(s: TfjsLayoutState, counters: { adamStep: number; emaUpdates: number }): void {
    const { specs, graph } = this;
    const ort = this.session.ort;
    for (const [what, list] of Object.entries(s) as [string, Float32Array[]][]) {
      if (list.length !== specs.length) throw new Error(`OrtStepEngine.setState: ${list.length} ${what} tensors for ${specs.length} parameters`);
      list.forEach((t, i) => {
        const n = specs[i].shape.reduce((a, b) => a * b, 1);
        if (t.length !== n) throw new Error(`OrtStepEngine.setState: ${what} of ${specs[i].name} has ${t.length} values, expected ${n}`);
      });
    }
    const { layout } = graph;
    const flat = (list: Float32Array[]) => {
      const out = new Float32Array(layout.total);
      list.forEach((t, i) => out.set(toTorchLayout(specs[i], t), layout.offsets[i]));
      return new ort.Tensor('float32', out, [layout.total]);
    };
    this.state = { params: flat(s.params), m: flat(s.m), v: flat(s.v), ema: flat(s.ema) };
    this.spare = undefined;
    this.adamStep = counters.adamStep;
    this.emaUpdates = counters.emaUpdates;
  }

  /** The state in tfjs layout (fresh arrays). */
  getState(): TfjsLayoutState {
    const st = this.requireState();
    const { layout } = this.graph;
    const back = (t: Ort.Tensor) => this.specs.map((spec, i) => fromTorchLayout(spec, (t.data as Float32Array).subarray(layout.offsets[i], layout.offsets[i] + layout.sizes[i])));
    return { params: back(st.params), m: back(st.m), v: back(st.v), ema: back(st.ema) };
  }

  private requireState(): State {
    if (!this.state) throw new Error('OrtStepEngine: no state yet; call setState first');
    return this.state;
  }

  /** One optimiser step over `gradAccum` micro-batches; commits the new state when the loss is finite. */
  async step(input: OrtStepInput): Promise<OrtStepResult> {
    const st = this.requireState();
    const { graph, specs, rows, config } = this;
    const ort = this.session.ort;
    if (graph.frozen.length > 0 && !this.frozenFeeds) throw new Error('OrtStepEngine: a LoRA engine needs its base weights; call setFrozen first');
    const feedFrozen = (feeds: Record<string, Ort.Tensor>) => graph.frozen.forEach((f, i) => (feeds[f.name] = this.frozenFeeds![i]));
    const scalar = (x: number) => new ort.Tensor('float32', new Float32Array([x]), []);
    let lossSum = 0;
    let acc: Float32Array | undefined;
    for (let micro = 0; micro < this.gradAccum - 1; micro++) {
      const { batch, dropoutSeed } = input.micro(micro);
      const g = this.grad!;
      const feeds = batchFeeds(ort, config, rows, g.graph.masks, batch, input.fullBatch, dropoutSeed, 'OrtStepEngine');
      feeds[FLAT.params] = st.params;
      feedFrozen(feeds);
      const out = await g.session.run(feeds);
      lossSum += (out[TRAIN_GRAPH_LOSS].data as Float32Array)[0];
      const grad = out[FLAT.grad].data as Float32Array;
      if (!acc) acc = grad;
      else for (let j = 0; j < acc.length; j++) acc[j] += grad[j];
    }
    const k = this.adamStep + 1;
    // bias corrections in float64, as optimizer.ts (Kingma & Ba 2015, Algorithm 1)
    const bc1 = 1 - Math.pow(this.beta1, k);
    const bc2 = 1 - Math.pow(this.beta2, k);
    const { batch, dropoutSeed } = input.micro(this.gradAccum - 1);
    const feeds = batchFeeds(ort, config, rows, graph.masks, batch, input.fullBatch, dropoutSeed, 'OrtStepEngine');
    feeds[STEP_INPUTS.stepSize] = scalar(input.lr / bc1);
    feeds[STEP_INPUTS.sqrtBc2] = scalar(Math.sqrt(bc2));
    if (this.weightDecay > 0) feeds[STEP_INPUTS.decay] = scalar(1 - input.lr * this.weightDecay);
    feeds[STEP_INPUTS.clip] = scalar(input.clip > 0 ? input.clip : Infinity); // step-graph.ts contract
    feeds[STEP_INPUTS.emaDecay] = scalar(input.emaDecay);
    feeds[STEP_INPUTS.emaKeep] = scalar(1 - input.emaDecay);
    if (acc) {
      feeds[STEP_INPUTS.accum] = scalar(this.gradAccum);
      feeds[FLAT.acc] = new ort.Tensor('float32', acc, [graph.layout.total]);
    }
    feedFrozen(feeds);
    feeds[FLAT.params] = st.params;
    feeds[FLAT.m] = st.m;
    feeds[FLAT.v] = st.v;
    feeds[FLAT.ema] = st.ema;
    let fetches: Record<string, Ort.Tensor> | undefined;
    if (this.preallocate) {
      const P = graph.layout.total;
      const sp = (this.spare ??= { params: new ort.Tensor('float32', new Float32Array(P), [P]), m: new ort.Tensor('float32', new Float32Array(P), [P]), v: new ort.Tensor('float32', new Float32Array(P), [P]), ema: new ort.Tensor('float32', new Float32Array(P), [P]) });
      fetches = { [TRAIN_GRAPH_LOSS]: scalar(0), [STEP_GRAD_NORM]: scalar(0), [NEW_PREFIX + FLAT.params]: sp.params, [NEW_PREFIX + FLAT.m]: sp.m, [NEW_PREFIX + FLAT.v]: sp.v, [NEW_PREFIX + FLAT.ema]: sp.ema };
    }
    const out = await this.session.run(feeds, fetches);
    lossSum += (out[TRAIN_GRAPH_LOSS].data as Float32Array)[0];
    const loss = lossSum / this.gradAccum;
    const gradNorm = (out[STEP_GRAD_NORM].data as Float32Array)[0];
    if (!Number.isFinite(loss)) return { loss, gradNorm, applied: false };
    const next = { params: out[NEW_PREFIX + FLAT.params], m: out[NEW_PREFIX + FLAT.m], v: out[NEW_PREFIX + FLAT.v], ema: out[NEW_PREFIX + FLAT.ema] };
    if (this.preallocate) this.spare = st; // this step's inputs take the next step's outputs
    this.state = next;
    this.adamStep = k;
    this.emaUpdates++;
    return { loss, gradNorm, applied: true };
  }

  /** Ends profiling (engines created with profilePrefix): ORT writes the step graph's trace file. */
  endProfiling(): void {
    this.session.endProfiling();
  }

  async dispose(): Promise<void> {
    this.state = undefined;
    this.spare = undefined;
    this.frozenFeeds = undefined;
    await Promise.all([this.session.dispose(), this.grad?.session.dispose()]);
  }
}
