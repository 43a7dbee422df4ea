/**
 * The training-step graph: Sfumato's UNet (emitUNet, the same nodes the exporter writes), the
 * weighted MSE of the trainer and the gradient of that loss with respect to every parameter, as
 * one ONNX model for ONNX Runtime (autodiff.ts).
 *
 * Contract (static shapes; `rows` is the micro-batch or shard size):
 *   inputs   sample  [rows, C, S, S]  the network input x_in (NCHW)
 *            timestep [rows]          the network's time input
 *            target  [rows, C, S, S]  the objective's regression target
 *            coef    [rows, 1, 1, 1]  w_b / (fullBatch · C·S·S): per-sample loss weight over the
 *                                     element count, so Σ over shards of `loss` is the batch loss
 *                                     mean_b w_b · mean((F - target)²) of parallel/shards.ts
 *            mask.<block> [rows, C_b, H_b, W_b]   dropout masks (keep/(1-p) or 0), when dropout > 0
 *            class_onehot [rows, K + 1]  class-conditional configs: each row's label one-hot
 *                                     (column K = the null class of classifier-free guidance)
 *            augment [rows, augmentDim]  augmentation labels (training/augment.ts), when the config
 *                                        has augmentDim > 0
 *            <param> tfjs layout (network/architecture.ts: conv HWIO, linear [in, out]) under its
 *                    state_dict key, as the trainer holds them (norm weights and biases as [C, 1, 1]);
 *                    the graph transposes conv and linear weights to the PyTorch layout emitUNet
 *                    uses, so their gradients come back in tfjs layout through the Transpose VJP;
 *                    with `layout: 'torch'` they are fed (and their gradients returned) in PyTorch
 *                    layout, and the graph has no weight transposes
 *   outputs  loss [] then one gradient per parameter, in unetParamSpecs order, each the shape of
 *            its input.
 */
import { unetParamSpecs, unetPlan } from '../../network/architecture';
import { validateUNetConfig, type UNetConfig } from '../../network/config';
import { valueInfo } from '../../onnx/graph';
import { DataType, encodeModel } from '../../onnx/proto';
import { emitUNet } from '../../onnx/unet-graph';
import type { AdapterSpec } from '../../network/lora';
import { NCHWC_DOMAIN } from '../../onnx/nchwc';
import { DiffGraph } from './autodiff';

export const TRAIN_GRAPH_INPUTS = { sample: 'sample', timestep: 'timestep', target: 'target', coef: 'coef', classOneHot: 'class_onehot', augment: 'augment' } as const;
export const TRAIN_GRAPH_LOSS = 'loss';
export const DROPOUT_MASK_PREFIX = 'mask.';

export interface TrainGraph {
  model: Uint8Array;
  /** parameter input names (state_dict keys), in unetParamSpecs order */
  params: string[];
  /** the input dims each parameter is fed with (norm vectors as [C, 1, 1]) */
  paramDims: number[][];
  /** gradient output names, aligned with `params` */
  grads: string[];
  /** dropout mask inputs in network order, with their dims (without the rows axis) */
  masks: { name: string; dims: [number, number, number] }[];
  /** with `lora`: frozen base-weight inputs (PyTorch layout), fed like parameters but without gradients */
  frozen: { name: string; dims: number[] }[];
  nodeCount: number;
}

/** Where the conv and linear weights enter the graph: tfjs layout (HWIO, [in, out]; the graph
 *  transposes them, and their gradients come back in tfjs layout) or PyTorch layout (OIHW,
 *  [out, in]: no transposes; the one-graph step engine keeps its state in this layout). */
export type ParamLayout = 'tfjs' | 'torch';

export interface TrainGraphOptions {
  producerVersion?: string;
  groupNorm?: 'decomposed' | 'layernorm';
  /** default 'tfjs' (the contract above) */
  layout?: ParamLayout;
  /** CPU only: convolutions on ORT's NCHWc kernels with this block size (autodiff.ts DiffGraphOptions) */
  nchwcBlock?: number;
  /** LoRA (network/lora.ts; layout 'torch' only): the base weights become non-differentiable
   *  inputs (`frozen`), each adapted weight W + scale·reshape(MatMul(up, down)), and the trainable
   *  parameters (`params`, their gradients) are the adapters' down/up tensors, adapter order */
  lora?: LoraGraphOptions;
}

export interface LoraGraphOptions {
  adapters: readonly AdapterSpec[];
  /** α/r */
  scale: number;
}

/** The forward + loss + backward part of a training graph, emitted into `g` (shared with step-graph.ts). */
export interface EmittedTrainGraph {
  sample: string;
  timestep: string;
  target: string;
  coef: string;
  /** class-conditional configs: the [rows, K + 1] one-hot class input */
  classOneHot?: string;
  /** networks with augmentDim: the [rows, augmentDim] augmentation labels input */
  augment?: string;
  /** the loss value */
  loss: string;
  /** parameter input names (state_dict keys), in unetParamSpecs order */
  params: string[];
  /** the dims each parameter is fed with */
  paramDims: number[][];
  /** gradient values, aligned with `params` (a value may be an input or repeat: see buildTrainGraph) */
  grads: string[];
  masks: TrainGraph['masks'];
  /** with `lora`: the frozen base-weight inputs (unetParamSpecs order) and their dims */
  frozen: { name: string; dims: number[] }[];
}

/** Emits the UNet, the weighted MSE and every parameter gradient of `rows`-row micro-batches into `g`. */
export function emitTrainGraph(g: DiffGraph, config: UNetConfig, rows: number, opts: { groupNorm?: 'decomposed' | 'layernorm'; layout?: ParamLayout; lora?: LoraGraphOptions } = {}): EmittedTrainGraph {
  const cfg = validateUNetConfig(config);
  if (!Number.isInteger(rows) || rows < 1) throw new Error(`buildTrainGraph: rows must be a positive integer, got ${rows}`);
  unetPlan(cfg); // validates the plan (attention resolutions etc.)
  const layout = opts.layout ?? 'tfjs';
  const lora = opts.lora;
  if (lora && layout !== 'torch') throw new Error('buildTrainGraph: LoRA graphs take the PyTorch layout (internal error)');
  const adapterOf = new Map((lora?.adapters ?? []).map((a) => [a.param, a]));
  const adapterInputs = new Map<string, string>();
  const { imageSize: S, inChannels: C } = cfg;
  const sample = g.input(TRAIN_GRAPH_INPUTS.sample, [rows, C, S, S], false);
  const timestep = g.input(TRAIN_GRAPH_INPUTS.timestep, [rows], false);
  const target = g.input(TRAIN_GRAPH_INPUTS.target, [rows, C, S, S], false);
  const coef = g.input(TRAIN_GRAPH_INPUTS.coef, [rows, 1, 1, 1], false);
  const K = cfg.numClasses ?? 0;
  const classOneHot = K > 0 ? g.input(TRAIN_GRAPH_INPUTS.classOneHot, [rows, K + 1], false) : undefined;
  const augDim = cfg.augmentDim ?? 0;
  const augment = augDim > 0 ? g.input(TRAIN_GRAPH_INPUTS.augment, [rows, augDim], false) : undefined;
  const specs = unetParamSpecs(cfg);
  const specByName = new Map(specs.map((s) => [s.name, s]));
  const paramValue = new Map<string, { input: string; value: string; dims: number[] }>();
  const param = (name: string, dims?: number[]): string => {
    const have = paramValue.get(name);
    if (have) return have.value;
    const spec = specByName.get(name);
    if (!spec) throw new Error(`buildTrainGraph: no parameter ${name} (internal error)`);
    let entry: { input: string; value: string; dims: number[] };
    if (layout === 'tfjs' && spec.role === 'weight' && (spec.kind === 'conv' || spec.kind === 'linear')) {
      // tfjs HWIO -> OIHW: perm [3, 2, 0, 1]; tfjs [in, out] -> [out, in]
      const input = g.input(name, spec.shape, true);
      entry = { input, value: g.op('Transpose', [input], { perm: spec.kind === 'conv' ? [3, 2, 0, 1] : [1, 0] }, `${name}/torch_layout`), dims: spec.shape };
    } else {
      const d = dims ?? spec.torchShape;
      const input = g.input(name, d, !lora);
      entry = { input, value: input, dims: d };
      const a = adapterOf.get(name);
      if (lora && a) {
        // Hu et al. 2021 eq. (3): W0 + (α/r)·B·A, B = up [out, r], A = down [r, fanIn] (LoCon: A a k×k conv)
        const r = a.downShape[0];
        const exactInput = (n: string, dd: number[]) => {
          const v = g.input(n, dd, true);
          if (v !== n) throw new Error(`buildTrainGraph: adapter name ${n} is taken (internal error)`);
          adapterInputs.set(n, v);
          return v;
        };
        const down = exactInput(a.down, a.downShape);
        const up = exactInput(a.up, a.upShape);
        const ba = g.op('MatMul', [g.op('Reshape', [up, g.constant('int64', [a.out, r])], {}, `${a.key}/up2d`), g.op('Reshape', [down, g.constant('int64', [r, a.fanIn])], {}, `${a.key}/down2d`)], {}, `${a.key}/ba`);
        const delta = g.op('Reshape', [g.op('Mul', [ba, g.constant('float', [lora.scale], [])], {}, `${a.key}/scaled`), g.constant('int64', d)], {}, `${a.key}/delta`);
        entry = { input, value: g.op('Add', [input, delta], {}, `${a.key}/merged`), dims: d };
      }
    }
    if (entry.input !== name) throw new Error(`buildTrainGraph: parameter name ${name} is taken (internal error)`);
    paramValue.set(name, entry);
    return entry.value;
  };
  const masks: TrainGraph['masks'] = [];
  const out = emitUNet(g, cfg, {
    sample,
    timestep,
    param,
    groupNorm: opts.groupNorm ?? 'layernorm',
    classLabel: classOneHot ? { kind: 'onehot', value: classOneHot } : undefined,
    augment,
    dropout:
      cfg.dropout > 0
        ? (block, dims) => {
            const name = g.input(DROPOUT_MASK_PREFIX + block, [rows, ...dims], false);
            masks.push({ name, dims });
            return name;
          }
        : undefined,
  });
  // loss = Σ_b coef_b Σ_i (F_bi - target_bi)²;  ∂loss/∂F = 2 coef (F - target)
  const diff = g.raw('Sub', [out, target], {}, 'loss/diff');
  const loss = g.raw('ReduceSum', [g.raw('Mul', [g.raw('Mul', [diff, diff], {}, 'loss/sq'), coef], {}, 'loss/weighted')], { keepdims: 0 }, TRAIN_GRAPH_LOSS);
  const dOut = g.raw('Mul', [diff, g.raw('Mul', [coef, g.constant('float', [2], [])], {}, 'loss/2coef')], {}, 'loss/dout');
  const baseNames = specs.map((s) => s.name);
  for (const name of baseNames) if (!paramValue.has(name)) throw new Error(`buildTrainGraph: parameter ${name} is not used by the graph (internal error)`);
  if (lora) {
    const params = lora.adapters.flatMap((a) => [a.down, a.up]);
    const paramDims = lora.adapters.flatMap((a) => [a.downShape, a.upShape]);
    for (const n of params) if (!adapterInputs.has(n)) throw new Error(`buildTrainGraph: adapter ${n} is not used by the graph (internal error)`);
    const grads = g.backward(new Map([[out, dOut]]), params);
    const frozen = baseNames.map((n) => ({ name: n, dims: paramValue.get(n)!.dims }));
    return { sample, timestep, target, coef, classOneHot, augment, loss, params, paramDims, grads, masks, frozen };
  }
  const params = baseNames;
  const grads = g.backward(new Map([[out, dOut]]), params.map((n) => paramValue.get(n)!.input));
  const paramDims = params.map((n) => paramValue.get(n)!.dims);
  return { sample, timestep, target, coef, classOneHot, augment, loss, params, paramDims, grads, masks, frozen: [] };
}

/** Graph inputs of the batch and dropout masks (the first inputs of every training graph). */
export function batchInputInfos(e: EmittedTrainGraph, config: UNetConfig, rows: number) {
  const { imageSize: S, inChannels: C } = config;
  return [
    valueInfo(e.sample, DataType.FLOAT, [rows, C, S, S]),
    valueInfo(e.timestep, DataType.FLOAT, [rows]),
    valueInfo(e.target, DataType.FLOAT, [rows, C, S, S]),
    valueInfo(e.coef, DataType.FLOAT, [rows, 1, 1, 1]),
    ...(e.classOneHot ? [valueInfo(e.classOneHot, DataType.FLOAT, [rows, (config.numClasses ?? 0) + 1])] : []),
    ...(e.augment ? [valueInfo(e.augment, DataType.FLOAT, [rows, config.augmentDim ?? 0])] : []),
    ...e.masks.map((m) => valueInfo(m.name, DataType.FLOAT, [rows, ...m.dims])),
  ];
}

/** Builds the training-step graph of `config` for micro-batches (or shards) of `rows` images. */
export function buildTrainGraph(config: UNetConfig, rows: number, opts: TrainGraphOptions = {}): TrainGraph {
  const g = new DiffGraph({ nchwcBlock: opts.nchwcBlock });
  const e = emitTrainGraph(g, config, rows, opts);
  const { loss, params, paramDims, grads, masks } = e;
  const inputs = [...batchInputInfos(e, config, rows), ...e.frozen.map((f) => valueInfo(f.name, DataType.FLOAT, f.dims)), ...params.map((n, i) => valueInfo(n, DataType.FLOAT, paramDims[i]))];
  // A parameter whose adjoint is another output's value (or an input) would give two outputs one
  // name; ORT also rejects an input listed as an output. Copy those through Identity.
  const seen = new Set<string>([loss]);
  const outNames = grads.map((v, i) => {
    if (!seen.has(v) && !params.includes(v)) {
      seen.add(v);
      return v;
    }
    const copy = g.raw('Identity', [v], {}, `grad.${params[i]}`);
    seen.add(copy);
    return copy;
  });
  const outputs = [valueInfo(loss, DataType.FLOAT, []), ...outNames.map((v, i) => valueInfo(v, DataType.FLOAT, paramDims[i]))];
  const graph = g.b.graph('sfumato_unet_train_step', inputs, outputs, 'Sfumato UNet training step: weighted MSE loss and its gradient for every parameter');
  const model = encodeModel({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }, ...(g.usesNchwc ? [{ domain: NCHWC_DOMAIN, version: 1 }] : [])],
    producerName: 'sfumato',
    producerVersion: opts.producerVersion ?? '0',
    graph,
  });
  return { model, params, paramDims, grads: outNames, masks, frozen: e.frozen, nodeCount: graph.node?.length ?? 0 };
}
