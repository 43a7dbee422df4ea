/**
 * The whole optimiser step as one ONNX graph: forward, weighted MSE and every parameter gradient
 * (train-graph.ts, on the same DiffGraph), then global-norm clipping, Adam/AdamW and the EMA, so
 * a training step is one ONNX Runtime run whose outputs are fed back as the next run's inputs.
 * Parameters, moments and EMA travel as one flat float32 vector each: every parameter in PyTorch
 * layout (conv OIHW, linear [out, in]) at its offset of `flatLayout` (the weight-decayed tensors
 * first). The graph splits the parameter vector into its tensors once (one Split, free Reshapes)
 * and concatenates the gradients once, so clipping, Adam and the EMA are ~20 kernels over
 * 4.4 M values rather than ~15 small kernels per tensor, and a step feeds and fetches 4 state
 * tensors instead of 4 per parameter. No per-step weight transposes; the engine converts to tfjs
 * layout only for checkpoints and previews.
 *
 * Contract (static shapes; `rows` is the micro-batch size):
 *   inputs   the batch inputs of train-graph.ts (sample, timestep, target, coef, mask.*)
 *            step.step_size []   lr / (1 - β1^k)                      (bias corrections in JS,
 *            step.sqrt_bc2  []   √(1 - β2^k)                           float64, as optimizer.ts)
 *            step.decay     []   1 - lr·λ   (only when built with weight decay)
 *            step.clip      []   global-norm threshold; +∞ = no clipping (the engine maps 0 to +∞,
 *                                 so the test is one Greater: no bool And for GPU providers)
 *            step.ema_decay []   d_n of network/ema.ts (warm-up rule applied in JS)
 *            step.ema_keep  []   1 - d_n
 *            step.accum     []   gradAccum (only when built with `accumulate`)
 *            acc    [P]          Σ of the earlier micro-batches' gradients (only with `accumulate`)
 *            params, opt.m, opt.v, ema  [P]   parameters, Adam moments, EMA (flat, see above)
 *   outputs  loss [] (this micro-batch's share), grad_norm [] (before clipping), then
 *            new.params, new.opt.m, new.opt.v, new.ema [P].
 * buildFlatGradGraph is the gradient-only graph of the same flat layout (gradient accumulation).
 *
 * The update, per parameter (g the micro-batch mean gradient):
 *   g ← (acc + g_last) / gradAccum                         (accumulation; trainer.ts semantics)
 *   ‖g‖ = √Σ_p Σ g²;  g ← g · clip/(‖g‖ + 1e-6) when ‖g‖ > clip   (Pascanu et al. 2013, §3.2)
 *   m ← β1 m + (1-β1) g,  v ← β2 v + (1-β2) g²           (Kingma & Ba 2015, Algorithm 1)
 *   p ← p (1 - lr·λ) on the decay mask                     (Loshchilov & Hutter 2019, Algorithm 2)
 *   p ← p - (lr/bc1) · m / (√v/√bc2 + ε)                  (PyTorch's Adam/AdamW form, optimizer.ts)
 *   e ← d e + (1-d) p                                      (network/ema.ts, after the update)
 * Each op is written in the same order as optimizer.ts / ema.ts compute it in tfjs, so the
 * float32 results agree with the tfjs path up to kernel rounding (the norm's summation order
 * differs). The decay factor is decay on the decayed segment and exactly 1 elsewhere.
 */
import { unetParamSpecs } from '../../network/architecture';
import type { UNetConfig } from '../../network/config';
import { valueInfo } from '../../onnx/graph';
import { DataType, encodeModel } from '../../onnx/proto';
import { NCHWC_DOMAIN } from '../../onnx/nchwc';
import { DiffGraph } from './autodiff';
import { batchInputInfos, emitTrainGraph, TRAIN_GRAPH_LOSS, type EmittedTrainGraph, type LoraGraphOptions, type TrainGraph } from './train-graph';

export const STEP_INPUTS = {
  stepSize: 'step.step_size',
  sqrtBc2: 'step.sqrt_bc2',
  decay: 'step.decay',
  clip: 'step.clip',
  emaDecay: 'step.ema_decay',
  emaKeep: 'step.ema_keep',
  accum: 'step.accum',
} as const;
/** the flat state inputs; the outputs are NEW_PREFIX + these */
export const FLAT = { params: 'params', m: 'opt.m', v: 'opt.v', ema: 'ema', acc: 'acc', grad: 'grad' } as const;
export const STEP_GRAD_NORM = 'grad_norm';
export const NEW_PREFIX = 'new.';

/** Where each parameter lives in the flat vectors. */
export interface FlatLayout {
  /** parameter names, unetParamSpecs order */
  params: string[];
  /** the dims each parameter has in the graph (PyTorch layout; norm vectors [C, 1, 1]) */
  dims: number[][];
  /** offset of each parameter (unetParamSpecs order) in the flat vector */
  offsets: number[];
  sizes: number[];
  /** parameter indices in flat order: the weight-decayed ones first */
  order: number[];
  /** values in the decayed segment [0, decayed) */
  decayed: number;
  /** total values */
  total: number;
}

/** The flat layout: decayed tensors (decayMask true) first, each group in unetParamSpecs order. */
export function flatLayout(params: string[], dims: number[][], decayMask: readonly boolean[]): FlatLayout {
  if (decayMask.length !== params.length) throw new Error(`flatLayout: decayMask has ${decayMask.length} entries for ${params.length} parameters`);
  const sizes = dims.map((d) => d.reduce((a, b) => a * b, 1));
  const order = [...params.keys()].filter((i) => decayMask[i]).concat([...params.keys()].filter((i) => !decayMask[i]));
  const offsets = new Array<number>(params.length);
  let at = 0;
  let decayed = 0;
  for (const i of order) {
    offsets[i] = at;
    at += sizes[i];
    if (decayMask[i]) decayed = at;
  }
  return { params, dims, offsets, sizes, order, decayed, total: at };
}

/** The default decay mask: conv and linear weights (not biases or norms), as the trainer's. */
export function defaultDecayMask(config: UNetConfig): boolean[] {
  return unetParamSpecs(config).map((s) => s.role === 'weight' && s.kind !== 'norm');
}

export interface StepGraphOptions {
  producerVersion?: string;
  groupNorm?: 'decomposed' | 'layernorm';
  beta1: number;
  beta2: number;
  epsilon: number;
  /** which parameters (unetParamSpecs order) get weight decay; sets the flat layout (default: defaultDecayMask) */
  decayMask?: readonly boolean[];
  /** build the decoupled weight-decay input and multiply (AdamW) */
  weightDecay: boolean;
  /** the most inputs + outputs one node may have (maxFanInFor(provider); default unlimited) */
  maxFanIn?: number;
  /** LoRA: the trainable parameters are the adapters (train-graph.ts), the base weights frozen inputs */
  lora?: LoraGraphOptions;
  /** take the earlier micro-batches' gradient sum as input (gradAccum > 1) */
  accumulate: boolean;
  /** CPU only: run the convolutions on ORT's NCHWc kernels with this block size (autodiff.ts DiffGraphOptions) */
  nchwcBlock?: number;
}

export interface StepGraph {
  model: Uint8Array;
  layout: FlatLayout;
  masks: TrainGraph['masks'];
  /** with `lora`: the frozen base-weight inputs (PyTorch layout), fed before the flat vectors */
  frozen: TrainGraph['frozen'];
  nodeCount: number;
}

/**
 * Feeds the parameters of a torch-layout training graph from one flat input: a Split and a
 * Reshape per tensor that produce the parameter values emitTrainGraph declared (its inputs named
 * by state_dict key), put first in the node list. Returns the flat input and the gradients
 * concatenated in the same flat order.
 */
function flattenParams(g: DiffGraph, e: EmittedTrainGraph, layout: FlatLayout, maxFanIn: number): { input: string; grad: string } {
  const input = g.input(FLAT.params, [layout.total], false);
  if (input !== FLAT.params) throw new Error(`buildStepGraph: value name ${FLAT.params} is taken (internal error)`);
  const start = g.b.nodes.length;
  const reshapes: number[] = [];
  if (layout.order.length <= maxFanIn - 1) {
    // one Split (its outputs plus the input stay within the provider's buffer limit)
    const parts = g.b.opN('Split', [input, g.constant('int64', layout.order.map((i) => layout.sizes[i]))], layout.order.length, { axis: 0 }, 'params/split');
    layout.order.forEach((i, k) => {
      g.b.op('Reshape', [parts[k], g.constant('int64', layout.dims[i])], {}, `${layout.params[i]}/unflat`);
      reshapes.push(g.b.nodes.length - 1 - start);
    });
  } else {
    // a Slice per tensor: a WebGPU shader binds at most 12 storage buffers, so a Split with more
    // outputs than that has no kernel there (ORT's WebGPU Split fails at run time)
    layout.order.forEach((i) => {
      const at = layout.offsets[i];
      const part = g.b.op('Slice', [input, g.constant('int64', [at]), g.constant('int64', [at + layout.sizes[i]]), g.constant('int64', [0])], {}, `${layout.params[i]}/slice`);
      g.b.op('Reshape', [part, g.constant('int64', layout.dims[i])], {}, `${layout.params[i]}/unflat`);
      reshapes.push(g.b.nodes.length - 1 - start);
    });
  }
  const prologue = g.b.nodes.splice(start);
  // the Reshapes produce the parameter values the forward uses (emitTrainGraph's inputs, same names)
  layout.order.forEach((i, k) => (prologue[reshapes[k]].output = [e.params[i]]));
  g.b.nodes.unshift(...prologue);
  const flat = layout.order.map((i) => g.raw('Reshape', [e.grads[i], g.constant('int64', [-1])], {}, `${layout.params[i]}/grad_flat`));
  return { input, grad: concatTree(g, flat, maxFanIn, 'grad/concat') };
}

/** Concat along axis 0 with at most `maxFanIn` - 1 inputs per node (a tree when there are more). */
function concatTree(g: DiffGraph, parts: string[], maxFanIn: number, name: string): string {
  const k = Math.max(2, maxFanIn - 1);
  let level = parts;
  for (let depth = 0; level.length > k; depth++) {
    const next: string[] = [];
    for (let i = 0; i < level.length; i += k) {
      const group = level.slice(i, i + k);
      next.push(group.length === 1 ? group[0] : g.raw('Concat', group, { axis: 0 }, `${name}/l${depth}_${i / k}`));
    }
    level = next;
  }
  return g.raw('Concat', level, { axis: 0 }, name);
}

/** The most buffers (inputs + outputs) one node may bind on `provider`: WebGPU shaders bind at most
 *  12 storage buffers (Dawn's default limit); the others have no such limit. */
export function maxFanInFor(provider: string | undefined): number {
  return provider === 'webgpu' ? 12 : Number.POSITIVE_INFINITY;
}

function encode(g: DiffGraph, name: string, inputs: ReturnType<typeof valueInfo>[], outputs: ReturnType<typeof valueInfo>[], doc: string, producerVersion: string | undefined) {
  const graph = g.b.graph(name, inputs, outputs, doc);
  const opsetImport = [{ domain: '', version: 17 }, ...(g.usesNchwc ? [{ domain: NCHWC_DOMAIN, version: 1 }] : [])];
  return { model: encodeModel({ irVersion: 8, opsetImport, producerName: 'sfumato', producerVersion: producerVersion ?? '0', graph }), nodeCount: graph.node?.length ?? 0 };
}

/** The gradient-only graph in the flat layout: batch + params [P] -> loss, grad [P]. */
export function buildFlatGradGraph(config: UNetConfig, rows: number, opts: { producerVersion?: string; groupNorm?: 'decomposed' | 'layernorm'; decayMask?: readonly boolean[]; maxFanIn?: number; lora?: LoraGraphOptions; nchwcBlock?: number } = {}): StepGraph {
  const g = new DiffGraph({ nchwcBlock: opts.nchwcBlock });
  const e = emitTrainGraph(g, config, rows, { groupNorm: opts.groupNorm, layout: 'torch', lora: opts.lora });
  const layout = flatLayout(e.params, e.paramDims, opts.decayMask ?? decayMaskOf(config, e, opts.lora));
  const { input, grad } = flattenParams(g, e, layout, opts.maxFanIn ?? Number.POSITIVE_INFINITY);
  const out = g.raw('Identity', [grad], {}, FLAT.grad);
  if (out !== FLAT.grad || e.loss !== TRAIN_GRAPH_LOSS) throw new Error('buildFlatGradGraph: output names are taken (internal error)');
  const f32 = (name: string, dims: number[]) => valueInfo(name, DataType.FLOAT, dims);
  const { model, nodeCount } = encode(g, 'sfumato_unet_flat_gradients', [...batchInputInfos(e, config, rows), ...e.frozen.map((fz) => f32(fz.name, fz.dims)), f32(input, [layout.total])], [f32(e.loss, []), f32(out, [layout.total])], 'Sfumato UNet training loss and its gradient, parameters and gradient as flat vectors', opts.producerVersion);
  return { model, layout, masks: e.masks, frozen: e.frozen, nodeCount };
}

/** The default decay mask of an emitted graph: every adapter tensor with LoRA, else defaultDecayMask. */
function decayMaskOf(config: UNetConfig, e: EmittedTrainGraph, lora: LoraGraphOptions | undefined): boolean[] {
  return lora ? e.params.map(() => true) : defaultDecayMask(config);
}

/** Builds the one-graph training step of `config` for micro-batches of `rows` images. */
export function buildStepGraph(config: UNetConfig, rows: number, opts: StepGraphOptions): StepGraph {
  const g = new DiffGraph({ nchwcBlock: opts.nchwcBlock });
  const e = emitTrainGraph(g, config, rows, { groupNorm: opts.groupNorm, layout: 'torch', lora: opts.lora });
  const layout = flatLayout(e.params, e.paramDims, opts.decayMask ?? decayMaskOf(config, e, opts.lora));
  const P = layout.total;
  const { input: p, grad: gLast } = flattenParams(g, e, layout, opts.maxFanIn ?? Number.POSITIVE_INFINITY);
  const exact = (v: string, name: string) => {
    if (v !== name) throw new Error(`buildStepGraph: value name ${name} is taken (internal error)`);
    return v;
  };
  const scalar = (name: string) => exact(g.input(name, [], false), name);
  const f = (x: number) => g.constant('float', [x], []);
  const stepSize = scalar(STEP_INPUTS.stepSize);
  const sqrtBc2 = scalar(STEP_INPUTS.sqrtBc2);
  const decay = opts.weightDecay ? scalar(STEP_INPUTS.decay) : undefined;
  const clip = scalar(STEP_INPUTS.clip);
  const emaDecay = scalar(STEP_INPUTS.emaDecay);
  const emaKeep = scalar(STEP_INPUTS.emaKeep);
  const accum = opts.accumulate ? scalar(STEP_INPUTS.accum) : undefined;
  const acc = opts.accumulate ? exact(g.input(FLAT.acc, [P], false), FLAT.acc) : undefined;
  const mIn = exact(g.input(FLAT.m, [P], false), FLAT.m);
  const vIn = exact(g.input(FLAT.v, [P], false), FLAT.v);
  const emaIn = exact(g.input(FLAT.ema, [P], false), FLAT.ema);

  // the step's mean gradient (trainer.ts: sum over micro-batches, then ÷ gradAccum)
  const grad = acc && accum ? g.raw('Div', [g.raw('Add', [acc, gLast], {}, 'grad/acc_sum'), accum], {}, 'grad/acc_mean') : gLast;
  // global norm before clipping: √(Σ g²)
  const gradNorm = exact(g.raw('Sqrt', [g.raw('ReduceSumSquare', [grad], { keepdims: 0 }, 'clip/norm_sq')], {}, STEP_GRAD_NORM), STEP_GRAD_NORM);
  // scale = clip / (‖g‖ + 1e-6) when ‖g‖ > clip (clip +∞ when off), else 1 (trainer.ts)
  const doClip = g.raw('Greater', [gradNorm, clip], {}, 'clip/over');
  const scale = g.raw('Where', [doClip, g.raw('Div', [clip, g.raw('Add', [gradNorm, f(1e-6)], {}, 'clip/denom')], {}, 'clip/ratio'), f(1)], {}, 'clip/scale');
  const gr = g.raw('Mul', [grad, scale], {}, 'adam/clipped');
  // Adam moments (Kingma & Ba 2015, Algorithm 1)
  const m = exact(g.raw('Add', [g.raw('Mul', [mIn, f(opts.beta1)], {}, 'adam/m_b1'), g.raw('Mul', [gr, f(1 - opts.beta1)], {}, 'adam/g_ob1')], {}, NEW_PREFIX + FLAT.m), NEW_PREFIX + FLAT.m);
  const v = exact(
    g.raw('Add', [g.raw('Mul', [vIn, f(opts.beta2)], {}, 'adam/v_b2'), g.raw('Mul', [g.raw('Mul', [gr, gr], {}, 'adam/g2'), f(1 - opts.beta2)], {}, 'adam/g2_ob2')], {}, NEW_PREFIX + FLAT.v),
    NEW_PREFIX + FLAT.v,
  );
  // decoupled weight decay on the decayed segment (Loshchilov & Hutter 2019): factor decay there, exactly 1 after
  let base = p;
  if (decay) {
    const segs: string[] = [];
    if (layout.decayed > 0) segs.push(g.raw('Expand', [decay, g.constant('int64', [layout.decayed])], {}, 'adam/decay_seg'));
    if (P > layout.decayed) segs.push(g.raw('Expand', [f(1), g.constant('int64', [P - layout.decayed])], {}, 'adam/keep_seg'));
    const factor = segs.length === 1 ? segs[0] : g.raw('Concat', segs, { axis: 0 }, 'adam/decay_factor');
    base = g.raw('Mul', [p, factor], {}, 'adam/decayed');
  }
  const denom = g.raw('Add', [g.raw('Div', [g.raw('Sqrt', [v], {}, 'adam/sqrt_v'), sqrtBc2], {}, 'adam/v_hat'), f(opts.epsilon)], {}, 'adam/denom');
  const pNew = exact(g.raw('Sub', [base, g.raw('Mul', [stepSize, g.raw('Div', [m, denom], {}, 'adam/m_over_denom')], {}, 'adam/update')], {}, NEW_PREFIX + FLAT.params), NEW_PREFIX + FLAT.params);
  // EMA of the updated parameters (network/ema.ts)
  const ema = exact(g.raw('Add', [g.raw('Mul', [emaIn, emaDecay], {}, 'ema/keep'), g.raw('Mul', [pNew, emaKeep], {}, 'ema/new')], {}, NEW_PREFIX + FLAT.ema), NEW_PREFIX + FLAT.ema);

  const f32 = (name: string, dims: number[]) => valueInfo(name, DataType.FLOAT, dims);
  const scalars = [STEP_INPUTS.stepSize, STEP_INPUTS.sqrtBc2, ...(decay ? [STEP_INPUTS.decay] : []), STEP_INPUTS.clip, STEP_INPUTS.emaDecay, STEP_INPUTS.emaKeep, ...(accum ? [STEP_INPUTS.accum] : [])];
  const inputs = [...batchInputInfos(e, config, rows), ...scalars.map((n) => f32(n, [])), ...e.frozen.map((fz) => f32(fz.name, fz.dims)), ...(acc ? [f32(acc, [P])] : []), f32(p, [P]), f32(mIn, [P]), f32(vIn, [P]), f32(emaIn, [P])];
  const outputs = [f32(e.loss, []), f32(gradNorm, []), f32(pNew, [P]), f32(m, [P]), f32(v, [P]), f32(ema, [P])];
  if (e.loss !== TRAIN_GRAPH_LOSS) throw new Error('buildStepGraph: the loss output is misnamed (internal error)');
  const { model, nodeCount } = encode(g, 'sfumato_unet_optimizer_step', inputs, outputs, 'Sfumato UNet optimiser step: loss, gradients, global-norm clipping, Adam(W) and EMA in one graph', opts.producerVersion);
  return { model, layout, masks: e.masks, frozen: e.frozen, nodeCount };
}
