/**
 * The UNet's block plan and parameter list, computed from a config without tfjs and without
 * allocating tensors. Mirrors the constructor of UNet in ../../shared/bench/torch_ref.py line by
 * line, so parameter names equal PyTorch `state_dict()` keys and come in the same order.
 *
 * Layouts (tfjs is NHWC; PyTorch is NCHW):
 * - conv weight: tfjs HWIO [kh, kw, cin, cout]; PyTorch OIHW [cout, cin, kh, kw].
 *   PyTorch -> tfjs: transpose perm [2, 3, 1, 0]; tfjs -> PyTorch: perm [3, 2, 0, 1].
 * - linear weight: tfjs [in, out] (y = x W + b); PyTorch [out, in] (y = x W^T + b): a transpose.
 * - biases and GroupNorm weight/bias: [C] in both.
 * - class embedding (class-conditional configs): `cemb.weight` [K + 1, tdim] in both (nn.Embedding;
 *   row K is the null class of classifier-free guidance).
 */
import { classCountOf, validateUNetConfig, type UNetConfig } from './config';

export type ParamKind = 'conv' | 'linear' | 'norm' | 'embedding';
export type ParamRole = 'weight' | 'bias';

export interface ParamSpec {
  /** PyTorch state_dict key, e.g. `down.0.0.c1.weight`. */
  name: string;
  /** shape in tfjs layout (see header). */
  shape: number[];
  /** shape of the same tensor in PyTorch layout. */
  torchShape: number[];
  kind: ParamKind;
  role: ParamRole;
  /** fan-in of the owning conv/linear (0 for norms); sets the default init bound 1/sqrt(fanIn). */
  fanIn: number;
}

export interface ResBlockPlan {
  kind: 'res';
  /** prefix of the ResBlock's parameters, e.g. `down.0.0` or `mid1`. */
  name: string;
  cin: number;
  cout: number;
  /** prefix of the attention block that follows, if any (e.g. `down.2.1`). */
  attn?: string;
}
export interface DownsamplePlan {
  kind: 'down';
  /** prefix of the stride-2 conv, e.g. `down.1.0`. */
  name: string;
  ch: number;
}
export interface UpsamplePlan {
  kind: 'up';
  /** prefix of the conv after nearest x2, e.g. `up.2.1` (index 0 is the parameter-free Upsample). */
  name: string;
  ch: number;
}
export type BlockPlan = ResBlockPlan | DownsamplePlan | UpsamplePlan;

export interface UNetPlan {
  config: UNetConfig;
  /** time-embedding width after the MLP: 4 * baseChannels. */
  tdim: number;
  /** blocks after `cin`, each pushing its output onto the skip stack. */
  down: BlockPlan[];
  mid: [ResBlockPlan, { name: string; ch: number }, ResBlockPlan];
  /** res blocks here pop one skip each and concatenate it AFTER h along channels. */
  up: BlockPlan[];
  /** channels entering the output GroupNorm. */
  outCh: number;
}

/** Block plan, following torch_ref.py UNet.__init__ (assumes a validated config). */
export function unetPlan(config: UNetConfig): UNetPlan {
  const { baseChannels: base, channelMults: mults, resBlocks: nres, attentionResolutions: attnRes } = config;
  const tdim = 4 * base;
  const down: BlockPlan[] = [];
  const chans = [base];
  let ch = base;
  let res = config.imageSize;
  mults.forEach((m, i) => {
    for (let r = 0; r < nres; r++) {
      const idx = down.length;
      const blk: ResBlockPlan = { kind: 'res', name: `down.${idx}.0`, cin: ch, cout: base * m };
      ch = base * m;
      if (attnRes.includes(res)) blk.attn = `down.${idx}.1`;
      down.push(blk);
      chans.push(ch);
    }
    if (i !== mults.length - 1) {
      down.push({ kind: 'down', name: `down.${down.length}.0`, ch });
      chans.push(ch);
      res /= 2;
    }
  });
  const mid: UNetPlan['mid'] = [
    { kind: 'res', name: 'mid1', cin: ch, cout: ch },
    { name: 'mida', ch },
    { kind: 'res', name: 'mid2', cin: ch, cout: ch },
  ];
  const up: BlockPlan[] = [];
  for (let i = mults.length - 1; i >= 0; i--) {
    const m = mults[i];
    for (let r = 0; r < nres + 1; r++) {
      const idx = up.length;
      const skip = chans.pop();
      if (skip === undefined) throw new Error('unetPlan: skip stack underflow (internal error)');
      const blk: ResBlockPlan = { kind: 'res', name: `up.${idx}.0`, cin: ch + skip, cout: base * m };
      ch = base * m;
      if (attnRes.includes(res)) blk.attn = `up.${idx}.1`;
      up.push(blk);
    }
    if (i !== 0) {
      up.push({ kind: 'up', name: `up.${up.length}.1`, ch });
      res *= 2;
    }
  }
  return { config, tdim, down, mid, up, outCh: ch };
}

function conv(out: ParamSpec[], name: string, cin: number, cout: number, k: number): void {
  const fanIn = cin * k * k;
  out.push({ name: `${name}.weight`, shape: [k, k, cin, cout], torchShape: [cout, cin, k, k], kind: 'conv', role: 'weight', fanIn });
  out.push({ name: `${name}.bias`, shape: [cout], torchShape: [cout], kind: 'conv', role: 'bias', fanIn });
}
function linear(out: ParamSpec[], name: string, fin: number, fout: number): void {
  out.push({ name: `${name}.weight`, shape: [fin, fout], torchShape: [fout, fin], kind: 'linear', role: 'weight', fanIn: fin });
  out.push({ name: `${name}.bias`, shape: [fout], torchShape: [fout], kind: 'linear', role: 'bias', fanIn: fin });
}
function norm(out: ParamSpec[], name: string, ch: number): void {
  out.push({ name: `${name}.weight`, shape: [ch], torchShape: [ch], kind: 'norm', role: 'weight', fanIn: 0 });
  out.push({ name: `${name}.bias`, shape: [ch], torchShape: [ch], kind: 'norm', role: 'bias', fanIn: 0 });
}
function resBlock(out: ParamSpec[], b: ResBlockPlan, tdim: number): void {
  // registration order of torch_ref.py ResBlock: n1, c1, t, n2, c2, skip
  norm(out, `${b.name}.n1`, b.cin);
  conv(out, `${b.name}.c1`, b.cin, b.cout, 3);
  linear(out, `${b.name}.t`, tdim, b.cout);
  norm(out, `${b.name}.n2`, b.cout);
  conv(out, `${b.name}.c2`, b.cout, b.cout, 3);
  if (b.cin !== b.cout) conv(out, `${b.name}.skip`, b.cin, b.cout, 1);
}
function attn(out: ParamSpec[], name: string, ch: number): void {
  // registration order of torch_ref.py Attn: n, qkv, proj
  norm(out, `${name}.n`, ch);
  conv(out, `${name}.qkv`, ch, 3 * ch, 1);
  conv(out, `${name}.proj`, ch, ch, 1);
}

/** The class-embedding table of a class-conditional config: nn.Embedding(K + 1, tdim). */
export const CLASS_EMBEDDING = 'cemb.weight';

/** Every parameter in PyTorch state_dict order (the stable order of UNet.variables()). */
export function unetParamSpecs(config: UNetConfig): ParamSpec[] {
  const plan = unetPlan(config);
  const { baseChannels: base, inChannels } = config;
  const out: ParamSpec[] = [];
  linear(out, 'temb.0', base, plan.tdim);
  linear(out, 'temb.2', plan.tdim, plan.tdim);
  const K = classCountOf(config);
  // registered right after the time MLP (a PyTorch module would declare self.cemb there);
  // fanIn 0: initialised N(0, 1) like torch.nn.Embedding (unet.ts initialValue)
  if (K > 0) out.push({ name: CLASS_EMBEDDING, shape: [K + 1, plan.tdim], torchShape: [K + 1, plan.tdim], kind: 'embedding', role: 'weight', fanIn: 0 });
  // augmentation conditioning (config.ts augmentDim): bias-free, so a zero vector adds nothing
  const aug = config.augmentDim ?? 0;
  if (aug > 0) out.push({ name: 'aug.weight', shape: [aug, base], torchShape: [base, aug], kind: 'linear', role: 'weight', fanIn: aug });
  conv(out, 'cin', inChannels, base, 3);
  const blocks = (list: BlockPlan[]) => {
    for (const b of list) {
      if (b.kind === 'res') {
        resBlock(out, b, plan.tdim);
        if (b.attn) attn(out, b.attn, b.cout);
      } else {
        conv(out, b.name, b.ch, b.ch, 3);
      }
    }
  };
  blocks(plan.down);
  resBlock(out, plan.mid[0], plan.tdim);
  attn(out, plan.mid[1].name, plan.mid[1].ch);
  resBlock(out, plan.mid[2], plan.tdim);
  blocks(plan.up);
  norm(out, 'nout', plan.outCh);
  conv(out, 'cout', plan.outCh, inChannels, 3);
  return out;
}

/** Number of trainable parameters, without allocating anything. Validates the config. */
export function paramCountOf(config: UNetConfig): number {
  validateUNetConfig(config);
  let n = 0;
  for (const p of unetParamSpecs(config)) n += p.shape.reduce((a, b) => a * b, 1);
  return n;
}

/**
 * Multiply-adds x 2 of one forward pass (convs, linears, attention matmuls), counted like
 * torch_ref.py count_fwd_flops, for the bench's `fwd_gflop` field.
 */
export function forwardFlops(config: UNetConfig, batch: number): number {
  const plan = unetPlan(config);
  const { baseChannels: base, inChannels, imageSize } = config;
  let f = 0;
  const conv = (hw: number, cin: number, cout: number, k: number) => {
    f += 2 * batch * hw * hw * cout * cin * k * k;
  };
  const lin = (fin: number, fout: number) => {
    f += 2 * batch * fin * fout;
  };
  const att = (hw: number, ch: number) => {
    conv(hw, ch, 3 * ch, 1);
    conv(hw, ch, ch, 1);
    f += 2 * 2 * batch * ch * (hw * hw) ** 2;
  };
  const res = (hw: number, b: ResBlockPlan) => {
    conv(hw, b.cin, b.cout, 3);
    lin(plan.tdim, b.cout);
    conv(hw, b.cout, b.cout, 3);
    if (b.cin !== b.cout) conv(hw, b.cin, b.cout, 1);
    if (b.attn) att(hw, b.cout);
  };
  lin(base, plan.tdim);
  lin(plan.tdim, plan.tdim);
  let hw = imageSize;
  conv(hw, inChannels, base, 3);
  for (const b of plan.down) {
    if (b.kind === 'res') res(hw, b);
    else {
      hw /= 2;
      conv(hw, b.ch, b.ch, 3);
    }
  }
  res(hw, plan.mid[0]);
  att(hw, plan.mid[1].ch);
  res(hw, plan.mid[2]);
  for (const b of plan.up) {
    if (b.kind === 'res') res(hw, b);
    else {
      hw *= 2;
      conv(hw, b.ch, b.ch, 3);
    }
  }
  conv(hw, plan.outCh, inChannels, 3);
  return f;
}
