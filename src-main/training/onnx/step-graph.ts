/**
 * The whole optimiser step as one ONNX graph: forward, weighted MSE and every parameter gradient
 * (train-graph.ts, on the same DiffGraph), then global-norm clipping, Adam/AdamW and the EMA, so
 * a training step is one ONNX Runtime run whose outputs are fed back as the next run's inputs.
 * Parameters, moments and EMA travel in PyTorch layout (conv OIHW, linear [out, in], norm vectors
 * [C, 1, 1]): no per-step weight transposes; the engine converts only for checkpoints and previews.
 *
 * Contract (static shapes; `rows` is the micro-batch size):
 *   inputs   the batch inputs of train-graph.ts (sample, timestep, target, coef, mask.*)
 *            step.step_size []   lr / (1 - β1^k)                      (bias corrections in JS,
 *            step.sqrt_bc2  []   √(1 - β2^k)                           float64, as optimizer.ts)
 *            step.decay     []   1 - lr·λ   (only when built with weight decay)
 *            step.clip      []   global-norm threshold; 0 = no clipping
 *            step.ema_decay []   d_n of network/ema.ts (warm-up rule applied in JS)
 *            step.ema_keep  []   1 - d_n
 *            step.accum     []   gradAccum (only when built with `accumulate`)
 *            acc.<p>             Σ of the earlier micro-batches' gradients (only with `accumulate`)
 *            <p>, opt.m.<p>, opt.v.<p>, ema.<p>   parameter, Adam moments, EMA, PyTorch layout
 *   outputs  loss [] (this micro-batch's share), grad_norm [] (before clipping), then
 *            new.<p>, new.opt.m.<p>, new.opt.v.<p>, new.ema.<p> for every parameter in
 *            unetParamSpecs order.
 *
 * The update, per parameter (g the micro-batch mean gradient):
 *   g ← (acc + g_last) / gradAccum                         (accumulation; trainer.ts semantics)
 *   ‖g‖ = √Σ_p Σ g²;  g ← g · clip/(‖g‖ + 1e-6) when ‖g‖ > clip   (Pascanu et al. 2013, §3.2)
 *   m ← β1 m + (1-β1) g,  v ← β2 v + (1-β2) g²           (Kingma & Ba 2015, Algorithm 1)
 *   p ← p (1 - lr·λ) on the decay mask                     (Loshchilov & Hutter 2019, Algorithm 2)
 *   p ← p - (lr/bc1) · m / (√v/√bc2 + ε)                  (PyTorch's Adam/AdamW form, optimizer.ts)
 *   e ← d e + (1-d) p                                      (network/ema.ts, after the update)
 * Each op is written in the same order as optimizer.ts / ema.ts compute it in tfjs, so the
 * float32 results agree with the tfjs path up to kernel rounding.
 */
import type { UNetConfig } from '../../network/config';
import { valueInfo } from '../../onnx/graph';
import { DataType, encodeModel } from '../../onnx/proto';
import { DiffGraph } from './autodiff';
import { batchInputInfos, emitTrainGraph, TRAIN_GRAPH_LOSS, type LoraGraphOptions, type TrainGraph } from './train-graph';

export const STEP_INPUTS = {
  stepSize: 'step.step_size',
  sqrtBc2: 'step.sqrt_bc2',
  decay: 'step.decay',
  clip: 'step.clip',
  emaDecay: 'step.ema_decay',
  emaKeep: 'step.ema_keep',
  accum: 'step.accum',
} as const;
export const STEP_GRAD_NORM = 'grad_norm';
export const ACC_PREFIX = 'acc.';
export const M_PREFIX = 'opt.m.';
export const V_PREFIX = 'opt.v.';
export const EMA_IN_PREFIX = 'ema.';
export const NEW_PREFIX = 'new.';

export interface StepGraphOptions {
  producerVersion?: string;
  groupNorm?: 'decomposed' | 'layernorm';
  beta1: number;
  beta2: number;
  epsilon: number;
  /** per parameter (unetParamSpecs order): whether decoupled weight decay applies; undefined = no decay */
  decayMask?: readonly boolean[];
  /** take the earlier micro-batches' gradient sum as input (gradAccum > 1) */
  accumulate: boolean;
  /** LoRA: the trainable parameters are the adapters (train-graph.ts), the base weights frozen inputs */
  lora?: LoraGraphOptions;
}

export interface StepGraph {
  model: Uint8Array;
  /** parameter names (state_dict keys), unetParamSpecs order */
  params: string[];
  /** dims of each parameter, moment, EMA and accumulator input (PyTorch layout; norms [C, 1, 1]) */
  paramDims: number[][];
  masks: TrainGraph['masks'];
  /** with `lora`: the frozen base-weight inputs (PyTorch layout) */
  frozen: TrainGraph['frozen'];
  /** output names, aligned with `params` */
  outputs: { params: string[]; m: string[]; v: string[]; ema: string[] };
  nodeCount: number;
}

/** Builds the one-graph training step of `config` for micro-batches of `rows` images. */
export function buildStepGraph(config: UNetConfig, rows: number, opts: StepGraphOptions): StepGraph {
  const g = new DiffGraph();
  const e = emitTrainGraph(g, config, rows, { groupNorm: opts.groupNorm, layout: 'torch', lora: opts.lora });
  const { params, paramDims, masks } = e;
  if (opts.decayMask && opts.decayMask.length !== params.length) throw new Error(`buildStepGraph: decayMask has ${opts.decayMask.length} entries for ${params.length} parameters`);
  const scalar = (name: string) => {
    const v = g.input(name, [], false);
    if (v !== name) throw new Error(`buildStepGraph: input name ${name} is taken (internal error)`);
    return v;
  };
  const exact = (v: string, name: string) => {
    if (v !== name) throw new Error(`buildStepGraph: value name ${name} is taken (internal error)`);
    return v;
  };
  const f = (x: number) => g.constant('float', [x], []);
  const stepSize = scalar(STEP_INPUTS.stepSize);
  const sqrtBc2 = scalar(STEP_INPUTS.sqrtBc2);
  const decay = opts.decayMask ? scalar(STEP_INPUTS.decay) : undefined;
  const clip = scalar(STEP_INPUTS.clip);
  const emaDecay = scalar(STEP_INPUTS.emaDecay);
  const emaKeep = scalar(STEP_INPUTS.emaKeep);
  const accum = opts.accumulate ? scalar(STEP_INPUTS.accum) : undefined;
  const accIn = opts.accumulate ? params.map((n, i) => exact(g.input(ACC_PREFIX + n, paramDims[i], false), ACC_PREFIX + n)) : [];
  const mIn = params.map((n, i) => exact(g.input(M_PREFIX + n, paramDims[i], false), M_PREFIX + n));
  const vIn = params.map((n, i) => exact(g.input(V_PREFIX + n, paramDims[i], false), V_PREFIX + n));
  const emaIn = params.map((n, i) => exact(g.input(EMA_IN_PREFIX + n, paramDims[i], false), EMA_IN_PREFIX + n));

  // the step's mean gradient (trainer.ts: sum over micro-batches, then ÷ gradAccum)
  const grads = params.map((n, i) => (accum ? g.raw('Div', [g.raw('Add', [accIn[i], e.grads[i]], {}, `${n}/acc_sum`), accum], {}, `${n}/acc_mean`) : e.grads[i]));
  // global norm before clipping: √(Σ_p Σ g²)
  const one = g.constant('int64', [1]);
  const squares = grads.map((gr, i) => g.raw('Reshape', [g.raw('ReduceSumSquare', [gr], { keepdims: 0 }, `${params[i]}/sumsq`), one], {}, `${params[i]}/sumsq1`));
  const normSq = g.raw('ReduceSum', [g.raw('Concat', squares, { axis: 0 }, 'clip/sumsq_all')], { keepdims: 0 }, 'clip/norm_sq');
  const gradNorm = exact(g.raw('Sqrt', [normSq], {}, STEP_GRAD_NORM), STEP_GRAD_NORM);
  // scale = clip / (‖g‖ + 1e-6) when clip > 0 and ‖g‖ > clip, else 1 (trainer.ts)
  const doClip = g.raw('And', [g.raw('Greater', [clip, f(0)], {}, 'clip/on'), g.raw('Greater', [gradNorm, clip], {}, 'clip/over')], {}, 'clip/apply');
  const scale = g.raw('Where', [doClip, g.raw('Div', [clip, g.raw('Add', [gradNorm, f(1e-6)], {}, 'clip/denom')], {}, 'clip/ratio'), f(1)], {}, 'clip/scale');

  const b1 = f(opts.beta1);
  const b2 = f(opts.beta2);
  const ob1 = f(1 - opts.beta1);
  const ob2 = f(1 - opts.beta2);
  const eps = f(opts.epsilon);
  const out: StepGraph['outputs'] = { params: [], m: [], v: [], ema: [] };
  params.forEach((n, i) => {
    const gr = g.raw('Mul', [grads[i], scale], {}, `${n}/clipped`);
    const m = exact(g.raw('Add', [g.raw('Mul', [mIn[i], b1], {}, `${n}/m_b1`), g.raw('Mul', [gr, ob1], {}, `${n}/g_ob1`)], {}, NEW_PREFIX + M_PREFIX + n), NEW_PREFIX + M_PREFIX + n);
    const v = exact(
      g.raw('Add', [g.raw('Mul', [vIn[i], b2], {}, `${n}/v_b2`), g.raw('Mul', [g.raw('Mul', [gr, gr], {}, `${n}/g2`), ob2], {}, `${n}/g2_ob2`)], {}, NEW_PREFIX + V_PREFIX + n),
      NEW_PREFIX + V_PREFIX + n,
    );
    const base = decay && opts.decayMask![i] ? g.raw('Mul', [n, decay], {}, `${n}/decayed`) : n;
    const denom = g.raw('Add', [g.raw('Div', [g.raw('Sqrt', [v], {}, `${n}/sqrt_v`), sqrtBc2], {}, `${n}/v_hat`), eps], {}, `${n}/denom`);
    const p = exact(g.raw('Sub', [base, g.raw('Mul', [stepSize, g.raw('Div', [m, denom], {}, `${n}/m_over_denom`)], {}, `${n}/update`)], {}, NEW_PREFIX + n), NEW_PREFIX + n);
    const ema = exact(
      g.raw('Add', [g.raw('Mul', [emaIn[i], emaDecay], {}, `${n}/ema_keep`), g.raw('Mul', [p, emaKeep], {}, `${n}/ema_new`)], {}, NEW_PREFIX + EMA_IN_PREFIX + n),
      NEW_PREFIX + EMA_IN_PREFIX + n,
    );
    out.params.push(p);
    out.m.push(m);
    out.v.push(v);
    out.ema.push(ema);
  });

  const f32 = (name: string, dims: number[]) => valueInfo(name, DataType.FLOAT, dims);
  const inputs = [
    ...batchInputInfos(e, config, rows),
    ...[STEP_INPUTS.stepSize, STEP_INPUTS.sqrtBc2, ...(decay ? [STEP_INPUTS.decay] : []), STEP_INPUTS.clip, STEP_INPUTS.emaDecay, STEP_INPUTS.emaKeep, ...(accum ? [STEP_INPUTS.accum] : [])].map((n) => f32(n, [])),
    ...e.frozen.map((fz) => f32(fz.name, fz.dims)),
    ...accIn.map((n, i) => f32(n, paramDims[i])),
    ...params.map((n, i) => f32(n, paramDims[i])),
    ...mIn.map((n, i) => f32(n, paramDims[i])),
    ...vIn.map((n, i) => f32(n, paramDims[i])),
    ...emaIn.map((n, i) => f32(n, paramDims[i])),
  ];
  const outputs = [
    f32(e.loss, []),
    f32(gradNorm, []),
    ...out.params.map((n, i) => f32(n, paramDims[i])),
    ...out.m.map((n, i) => f32(n, paramDims[i])),
    ...out.v.map((n, i) => f32(n, paramDims[i])),
    ...out.ema.map((n, i) => f32(n, paramDims[i])),
  ];
  if (e.loss !== TRAIN_GRAPH_LOSS) throw new Error('buildStepGraph: the loss output is misnamed (internal error)');
  const graph = g.b.graph('sfumato_unet_optimizer_step', inputs, outputs, 'Sfumato UNet optimiser step: loss, gradients, global-norm clipping, Adam(W) and EMA in one graph');
  const model = encodeModel({ irVersion: 8, opsetImport: [{ domain: '', version: 17 }], producerName: 'sfumato', producerVersion: opts.producerVersion ?? '0', graph });
  return { model, params, paramDims, masks, frozen: e.frozen, outputs: out, nodeCount: graph.node?.length ?? 0 };
}
