/**
 * LoRA / LoCon adapters for the UNet: low-rank updates of frozen base weights.
 *
 * Hu et al. 2021, "LoRA: Low-Rank Adaptation of Large Language Models", eq. (3):
 *   h = W0 x + ΔW x,  ΔW = (α/r) · B A,  B ∈ R^{out×r} initialised to zero, A ∈ R^{r×in} random,
 * so the adapted model equals the base model at step 0. For a k×k convolution (LoCon, as kohya's
 * LyCORIS/networks use it) A is a k×k conv cin→r and B a 1×1 conv r→cout; by linearity of the
 * convolution the pair equals one conv whose weight is W0 + (α/r)·reshape(B · flatten(A)), which is
 * how both engines apply it (a weight reparameterisation: the step sees only the merged weight).
 *
 * Names and layouts follow kohya-ss/sd-scripts (networks/lora.py): module `lora_unet_<path with
 * dots as _>` holds `lora_down.weight` (conv [r, cin, kh, kw], linear [r, in]), `lora_up.weight`
 * (conv [cout, r, 1, 1], linear [out, r]) and `alpha` (scalar). Adapter tensors are kept in that
 * PyTorch layout everywhere (trainer, ORT graph, checkpoints, the .safetensors file).
 *
 * Targets:
 *   attn    the attention blocks' 1×1 `qkv` and `proj` convolutions
 *   conv    the convolutions of ResBlocks (c1, c2, skip) and of down/upsampling; not the network's
 *           `cin`/`cout` convs (kohya leaves conv_in/conv_out alone too; `cout` has 3 outputs)
 *   linear  the time-embedding MLP (temb.0, temb.2) and every ResBlock's time projection `.t`
 *
 * No tfjs and no Node imports (the service validates settings with it); the tfjs part is lora-tf.ts.
 */
import { DomainError } from '../api/errors';
import { unetParamSpecs, type ParamSpec } from './architecture';
import type { UNetConfig } from './config';
import { tensorStream } from './init-rng';

export const LORA_TARGETS = ['attn', 'conv', 'linear'] as const;
export type LoraTarget = (typeof LORA_TARGETS)[number];
export const DEFAULT_LORA_TARGETS: readonly LoraTarget[] = ['attn', 'conv'];

export interface LoraConfig {
  rank: number;
  alpha: number;
  targets: LoraTarget[];
}

/** A LoRA setting that cannot be used; `field` names the flag/setting. */
export class LoraConfigError extends DomainError {
  readonly apiCode = 'bad_request';
  readonly code = 'LORA_CONFIG';
  override apiDetails(): { field: string } {
    return { field: this.field };
  }
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`LoRA: ${field}: ${message}`);
    this.name = 'LoraConfigError';
  }
}

/** One adapted module. */
export interface AdapterSpec {
  /** module path, e.g. `down.0.0.c1` */
  module: string;
  /** the base parameter it adapts, e.g. `down.0.0.c1.weight` */
  param: string;
  /** kohya module key, e.g. `lora_unet_down_0_0_c1` */
  key: string;
  kind: 'conv' | 'linear';
  /** output channels / features */
  out: number;
  /** cin·kh·kw (conv) or in (linear): the columns of the flattened weight */
  fanIn: number;
  /** PyTorch shape of the base weight */
  torchShape: number[];
  downShape: number[];
  upShape: number[];
  /** names of the trainable tensors */
  down: string;
  up: string;
  alphaName: string;
}

export function loraKey(module: string): string {
  return `lora_unet_${module.replace(/\./g, '_')}`;
}

function targetOf(spec: ParamSpec): LoraTarget | undefined {
  if (spec.role !== 'weight' || spec.kind === 'norm') return undefined;
  if (/\.(qkv|proj)\.weight$/.test(spec.name)) return 'attn';
  if (spec.kind === 'linear') return 'linear';
  if (spec.name === 'cin.weight' || spec.name === 'cout.weight') return undefined;
  return 'conv';
}

/** Checks the rank/alpha/targets values (without a model); throws LoraConfigError. */
export function validateLoraConfig(raw: unknown): LoraConfig {
  const o = (raw ?? {}) as Partial<LoraConfig>;
  const rank = o.rank;
  if (typeof rank !== 'number' || !Number.isInteger(rank) || rank < 1) throw new LoraConfigError('rank', `must be a positive integer (e.g. --lora-rank 8), got ${String(rank)}`);
  const alpha = o.alpha ?? rank;
  if (typeof alpha !== 'number' || !Number.isFinite(alpha) || alpha <= 0) throw new LoraConfigError('alpha', `must be a finite number > 0 (e.g. --lora-alpha ${rank}, the rank), got ${String(alpha)}`);
  const targets = o.targets ?? [...DEFAULT_LORA_TARGETS];
  if (!Array.isArray(targets) || targets.length === 0) throw new LoraConfigError('targets', `name at least one of ${LORA_TARGETS.join(', ')} (e.g. --lora-targets attn,conv)`);
  for (const t of targets) if (!(LORA_TARGETS as readonly string[]).includes(t)) throw new LoraConfigError('targets', `unknown target "${String(t)}"; use a comma list of ${LORA_TARGETS.join(', ')}`);
  const uniq = LORA_TARGETS.filter((t) => targets.includes(t));
  return { rank, alpha, targets: uniq };
}

/** The adapters of `config` for `lora` (state_dict order of the base parameters); validates rank ≤ min(in, out). */
export function loraAdapterSpecs(config: UNetConfig, lora: LoraConfig): AdapterSpec[] {
  const l = validateLoraConfig(lora);
  const out: AdapterSpec[] = [];
  for (const s of unetParamSpecs(config)) {
    const t = targetOf(s);
    if (!t || !l.targets.includes(t)) continue;
    const module = s.name.slice(0, -'.weight'.length);
    const key = loraKey(module);
    const [o, ...rest] = s.torchShape;
    const fanIn = rest.reduce((a, b) => a * b, 1);
    if (l.rank > Math.min(o, fanIn)) {
      throw new LoraConfigError('rank', `${l.rank} is more than min(in, out) = ${Math.min(o, fanIn)} of ${module} (${fanIn} in, ${o} out); choose --lora-rank ≤ ${Math.min(o, fanIn)} or leave that target out`);
    }
    const conv = s.kind === 'conv';
    out.push({
      module,
      param: s.name,
      key,
      kind: conv ? 'conv' : 'linear',
      out: o,
      fanIn,
      torchShape: s.torchShape.slice(),
      downShape: conv ? [l.rank, ...rest] : [l.rank, fanIn],
      upShape: conv ? [o, l.rank, 1, 1] : [o, l.rank],
      down: `${key}.lora_down.weight`,
      up: `${key}.lora_up.weight`,
      alphaName: `${key}.alpha`,
    });
  }
  if (out.length === 0) throw new LoraConfigError('targets', `no module of this model matches ${l.targets.join(',')}`);
  return out;
}

/** The scale α/r of ΔW (Hu et al. 2021, §4.1). */
export function loraScale(lora: LoraConfig): number {
  return lora.alpha / lora.rank;
}

/** Trainable tensor names and shapes: down then up of each adapter, in adapter order. */
export function adapterTensorSpecs(adapters: readonly AdapterSpec[]): { name: string; shape: number[] }[] {
  return adapters.flatMap((a) => [
    { name: a.down, shape: a.downShape },
    { name: a.up, shape: a.upShape },
  ]);
}

/** Number of trainable values of the adapters. */
export function adapterParamCount(adapters: readonly AdapterSpec[]): number {
  return adapterTensorSpecs(adapters).reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
}

/**
 * Initial adapters: `down` as PyTorch's default conv/linear init (kaiming_uniform_(a=√5), i.e.
 * U(±1/√fan_in), what kohya's LoRAModule does), `up` zero, so ΔW = 0 at step 0 (Hu et al. 2021
 * §4.1). Each tensor draws from its own stream keyed by (seed, name). Order: adapterTensorSpecs.
 */
export function initAdapters(adapters: readonly AdapterSpec[], seed: number): Float32Array[] {
  return adapters.flatMap((a) => {
    const down = new Float32Array(a.downShape.reduce((x, y) => x * y, 1));
    const bound = 1 / Math.sqrt(a.fanIn);
    const rand = tensorStream(a.down, seed);
    for (let i = 0; i < down.length; i++) down[i] = (2 * rand() - 1) * bound;
    return [down, new Float32Array(a.upShape.reduce((x, y) => x * y, 1))];
  });
}

/** ΔW = scale · up·down in the base weight's PyTorch layout (float64 accumulation). */
export function adapterDelta(a: AdapterSpec, down: Float32Array, up: Float32Array, scale: number): Float32Array {
  const r = a.downShape[0];
  const out = new Float32Array(a.out * a.fanIn);
  for (let o = 0; o < a.out; o++)
    for (let j = 0; j < a.fanIn; j++) {
      let s = 0;
      for (let k = 0; k < r; k++) s += up[o * r + k] * down[k * a.fanIn + j];
      out[o * a.fanIn + j] = s * scale;
    }
  return out;
}

/**
 * Base weights (tfjs layout, unetParamSpecs order) with the adapters merged in at `scale`
 * (α/r times the user's strength): W + scale·up·down per adapted parameter; others copied as they are.
 */
export function mergeAdapters(config: UNetConfig, base: readonly Float32Array[], adapters: readonly AdapterSpec[], tensors: readonly Float32Array[], scale: number): Float32Array[] {
  const specs = unetParamSpecs(config);
  if (base.length !== specs.length) throw new Error(`mergeAdapters: ${base.length} base tensors for ${specs.length} parameters`);
  if (tensors.length !== adapters.length * 2) throw new Error(`mergeAdapters: ${tensors.length} adapter tensors for ${adapters.length} adapters`);
  const byParam = new Map(adapters.map((a, i) => [a.param, i]));
  return specs.map((s, i) => {
    const w = base[i].slice();
    const ai = byParam.get(s.name);
    if (ai === undefined) return w;
    const a = adapters[ai];
    const d = adapterDelta(a, tensors[2 * ai], tensors[2 * ai + 1], scale);
    if (s.kind === 'conv') {
      // torch OIHW [cout, cin, kh, kw] -> tfjs HWIO [kh, kw, cin, cout]
      const [cout, cin, kh, kw] = a.torchShape;
      for (let o = 0; o < cout; o++)
        for (let c = 0; c < cin; c++)
          for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) w[((y * kw + x) * cin + c) * cout + o] += d[((o * cin + c) * kh + y) * kw + x];
    } else {
      // torch [out, in] -> tfjs [in, out]
      const [o, n] = a.torchShape;
      for (let r = 0; r < o; r++) for (let c = 0; c < n; c++) w[c * o + r] += d[r * n + c];
    }
    return w;
  });
}

