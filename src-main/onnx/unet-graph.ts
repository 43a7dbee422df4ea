/**
 * Sfumato's UNet (torch_ref.py's network, network/architecture.ts's plan) written as ONNX nodes, once,
 * for two users: the exporter (export.ts: weights become initializers, the graph is sampled by
 * ONNX Runtime) and the training graph (training/onnx: weights become inputs and the graph is
 * differentiated node by node). Every op has PyTorch/ONNX NCHW semantics; parameters are whatever
 * value names `param(stateDictKey, dims?)` returns, in PyTorch layout (conv OIHW, linear [out, in]
 * used by Gemm with transB=1).
 *
 * GroupNorm ('decomposed', opset 17) is the lowering torch.onnx emits for opsets < 18: Reshape
 * [B, G, -1] -> InstanceNormalization (scale 1, bias 0) -> Reshape [B, C, H, W] -> Mul gamma ->
 * Add beta; 'native' uses GroupNormalization-21 (opset 21); 'layernorm' LayerNormalization-17 on
 * the same [B, G, -1] view. SiLU is Mul(x, Sigmoid(x)).
 */
import { CLASS_EMBEDDING, unetPlan, type ResBlockPlan } from '../network/architecture';
import type { UNetConfig } from '../network/config';
import { GROUP_NORM_EPS } from '../network/layers';
import { float, type Attr } from './graph';

/** What emitUNet needs of a graph builder (GraphBuilder, and the differentiating DiffGraph). */
export interface OpSink {
  op(opType: string, inputs: string[], attrs?: Record<string, Attr>, name?: string): string;
  opN(opType: string, inputs: string[], outputs: number, attrs?: Record<string, Attr>, name?: string): string[];
  constant(kind: 'int64' | 'float', values: readonly number[], dims?: number[]): string;
}

export interface UNetGraphInputs {
  /** value name of the input images, float32 [B, C, H, W] */
  sample: string;
  /** value name of the time input, float32 [B] */
  timestep: string;
  /** value name of a parameter (PyTorch layout, or reshaped to `dims`, e.g. a norm's [C] as [C, 1, 1]) */
  param: (name: string, dims?: number[]) => string;
  /** 'decomposed': InstanceNormalization (opset 17, every provider); 'native': GroupNormalization-21;
   *  'layernorm': LayerNormalization-17 over each group (opset 17), whose mean and 1/σ outputs
   *  the training graph's gradient reuses */
  groupNorm?: 'decomposed' | 'native' | 'layernorm';
  /** training graphs: a value to multiply the dropout site of ResBlock `name` by (an input mask) */
  dropout?: (block: string, dims: [number, number, number]) => string | undefined;
  /**
   * Class-conditional configs (numClasses K > 0): the class input. 'index': int64 [B] class
   * indices (0..K-1, K = null class), looked up with Gather (export; no gradient needed);
   * 'onehot': float32 [B, K + 1] one-hot rows multiplied into the table with MatMul (the training
   * graph: MatMul has a VJP, and onehot · table picks the row exactly).
   */
  classLabel?: { kind: 'index' | 'onehot'; value: string };
  /** training graphs of networks with config.augmentDim: the augmentation labels [B, augmentDim]
   *  (absent = zeros, the sampling case: the term vanishes and no input is needed) */
  augment?: string;
}

/** Emits the UNet's nodes into `g`; returns the value name of the network output [B, C, H, W]. */
export function emitUNet(g: OpSink, config: UNetConfig, io: UNetGraphInputs): string {
  const { param } = io;
  const gnMode = io.groupNorm ?? 'decomposed';
  const plan = unetPlan(config);
  const { groups, baseChannels: base, imageSize: S } = config;
  const i64 = (...v: number[]) => g.constant('int64', v);

  const conv = (x: string, name: string, k: 1 | 3, stride: 1 | 2 = 1): string =>
    g.op('Conv', [x, param(`${name}.weight`), param(`${name}.bias`)], { kernel_shape: [k, k], strides: [stride, stride], pads: k === 3 ? [1, 1, 1, 1] : [0, 0, 0, 0] }, `${name}/conv`);
  const gemm = (x: string, name: string): string => g.op('Gemm', [x, param(`${name}.weight`), param(`${name}.bias`)], { transB: 1 }, `${name}/gemm`);
  // SiLU(x) = x * sigmoid(x) (Elfwing et al. 2018); ORT fuses the pair.
  const silu = (x: string, hint: string): string => g.op('Mul', [x, g.op('Sigmoid', [x], {}, `${hint}/sigmoid`)], {}, `${hint}/silu`);
  // GroupNorm (Wu & He 2018) with torch.nn.GroupNorm semantics (layers.ts groupNorm).
  const groupNorm = (x: string, name: string, ch: number, hw: number): string => {
    if (gnMode === 'native') {
      return g.op('GroupNormalization', [x, param(`${name}.weight`), param(`${name}.bias`)], { num_groups: groups, epsilon: float(GROUP_NORM_EPS) }, `${name}/gn`);
    }
    const grouped = g.op('Reshape', [x, i64(0, groups, -1)], {}, `${name}/group`);
    let normed: string;
    if (gnMode === 'layernorm') {
      // LayerNormalization-17 over the group axis also returns the mean and 1/σ a gradient needs
      const m = (ch / groups) * hw * hw;
      const ln = [grouped, g.constant('float', new Array(m).fill(1)), g.constant('float', new Array(m).fill(0))];
      normed = g.opN('LayerNormalization', ln, 3, { axis: 2, epsilon: float(GROUP_NORM_EPS) }, `${name}/lnorm`)[0];
    } else {
      const ones = g.constant('float', new Array(groups).fill(1));
      const zeros = g.constant('float', new Array(groups).fill(0));
      normed = g.op('InstanceNormalization', [grouped, ones, zeros], { epsilon: float(GROUP_NORM_EPS) }, `${name}/inorm`);
    }
    const back = g.op('Reshape', [normed, i64(0, ch, hw, hw)], {}, `${name}/ungroup`);
    const scaled = g.op('Mul', [back, param(`${name}.weight`, [ch, 1, 1])], {}, `${name}/gamma`);
    return g.op('Add', [scaled, param(`${name}.bias`, [ch, 1, 1])], {}, `${name}/beta`);
  };

  // time embedding: [sin(t f), cos(t f)], f_i = exp(-ln(10000) i / half) (layers.ts timestepEmbedding)
  const half = base / 2;
  const freqs = Array.from({ length: half }, (_, i) => Math.fround(Math.exp((-Math.log(10000) * i) / half)));
  const targ = g.op('Mul', [g.op('Unsqueeze', [io.timestep, i64(1)], {}, 'temb/t'), g.constant('float', freqs, [1, half])], {}, 'temb/args');
  let emb = g.op('Concat', [g.op('Sin', [targ], {}, 'temb/sin'), g.op('Cos', [targ], {}, 'temb/cos')], { axis: 1 }, 'temb/emb');
  if (io.augment) emb = g.op('Add', [emb, g.op('Gemm', [io.augment, param('aug.weight')], { transB: 1 }, 'aug/gemm')], {}, 'temb/aug');
  let temb = gemm(silu(gemm(emb, 'temb.0'), 'temb.1'), 'temb.2');
  // class-conditional: temb += cemb[label] (unet.ts forward; Ho & Salimans 2022)
  const K = config.numClasses ?? 0;
  if (K > 0) {
    if (!io.classLabel) throw new Error('emitUNet: the config is class-conditional; pass classLabel');
    const table = param(CLASS_EMBEDDING);
    const row = io.classLabel.kind === 'index' ? g.op('Gather', [table, io.classLabel.value], { axis: 0 }, 'cemb/gather') : g.op('MatMul', [io.classLabel.value, table], {}, 'cemb/matmul');
    temb = g.op('Add', [temb, row], {}, 'cemb/add');
  } else if (io.classLabel) throw new Error('emitUNet: classLabel given for an unconditional config');
  const tembAct = silu(temb, 'temb/act'); // every ResBlock uses SiLU(temb), computed once (unet.ts forward)

  const resBlock = (x: string, b: ResBlockPlan, hw: number): string => {
    const n = b.name;
    let h = conv(silu(groupNorm(x, `${n}.n1`, b.cin, hw), `${n}.n1`), `${n}.c1`, 3);
    const tproj = g.op('Reshape', [gemm(tembAct, `${n}.t`), i64(0, -1, 1, 1)], {}, `${n}.t/bc`);
    h = g.op('Add', [h, tproj], {}, `${n}/addt`);
    h = silu(groupNorm(h, `${n}.n2`, b.cout, hw), `${n}.n2`);
    // dropout where DDPM's ResnetBlock has it (unet.ts resBlock); inference graphs have none
    const mask = io.dropout?.(n, [b.cout, hw, hw]);
    if (mask) h = g.op('Mul', [h, mask], {}, `${n}/dropout`);
    h = conv(h, `${n}.c2`, 3);
    const skip = b.cin !== b.cout ? conv(x, `${n}.skip`, 1) : x;
    return g.op('Add', [skip, h], {}, `${n}/out`);
  };
  // Single-head self-attention with residual (layers.ts attention; Vaswani et al. 2017 eq. 1):
  // q, k, v [B, C, N] (N = H W); a = softmax_j(q^T k / sqrt(C)) [B, N, N]; o = v a^T [B, C, N].
  const attnBlock = (x: string, name: string, ch: number, hw: number): string => {
    const qkv = g.op('Reshape', [conv(groupNorm(x, `${name}.n`, ch, hw), `${name}.qkv`, 1), i64(0, 3 * ch, hw * hw)], {}, `${name}/flat`);
    const [q, k, v] = g.opN('Split', [qkv, i64(ch, ch, ch)], 3, { axis: 1 }, `${name}/qkv`);
    const qt = g.op('Transpose', [q], { perm: [0, 2, 1] }, `${name}/qT`);
    const scores = g.op('Mul', [g.op('MatMul', [qt, k], {}, `${name}/qk`), g.constant('float', [1 / Math.sqrt(ch)], [])], {}, `${name}/scale`);
    const a = g.op('Softmax', [scores], { axis: -1 }, `${name}/softmax`);
    const o = g.op('MatMul', [v, g.op('Transpose', [a], { perm: [0, 2, 1] }, `${name}/aT`)], {}, `${name}/av`);
    const o4 = g.op('Reshape', [o, i64(0, ch, hw, hw)], {}, `${name}/unflat`);
    return g.op('Add', [x, conv(o4, `${name}.proj`, 1)], {}, `${name}/out`);
  };

  // torch_ref.py UNet.forward
  let hw = S;
  let h = conv(io.sample, 'cin', 3);
  const skips: string[] = [h];
  for (const b of plan.down) {
    if (b.kind === 'res') {
      h = resBlock(h, b, hw);
      if (b.attn) h = attnBlock(h, b.attn, b.cout, hw);
    } else if (b.kind === 'down') {
      h = conv(h, b.name, 3, 2);
      hw /= 2;
    }
    skips.push(h);
  }
  h = resBlock(h, plan.mid[0], hw);
  h = attnBlock(h, plan.mid[1].name, plan.mid[1].ch, hw);
  h = resBlock(h, plan.mid[2], hw);
  for (const b of plan.up) {
    if (b.kind === 'res') {
      const skip = skips.pop();
      if (!skip) throw new Error('emitUNet: skip stack underflow (internal error)');
      h = resBlock(g.op('Concat', [h, skip], { axis: 1 }, `${b.name}/cat`), b, hw);
      if (b.attn) h = attnBlock(h, b.attn, b.cout, hw);
    } else if (b.kind === 'up') {
      // nn.Upsample(scale_factor=2, mode='nearest'): out[i] = in[floor(i / 2)]
      const up = g.op('Resize', [h, '', g.constant('float', [1, 1, 2, 2])], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }, `${b.name}/upsample`);
      hw *= 2;
      h = conv(up, b.name, 3);
    }
  }
  h = silu(groupNorm(h, 'nout', plan.outCh, hw), 'nout');
  return conv(h, 'cout', 3);
}
