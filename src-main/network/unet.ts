/**
 * Sfumato's configurable DDPM UNet on raw tfjs ops and tf.Variables (no tfjs-layers).
 *
 * Architecture: identical to UNet in ../../shared/bench/torch_ref.py (block order, parameter
 * names, initial-value distribution). See architecture.ts for the plan, the parameter list and the
 * tfjs <-> PyTorch layout mapping (conv HWIO <-> OIHW, linear [in,out] <-> [out,in]).
 *
 * Inputs:
 * - x: NHWC [B, H, W, inChannels] float32 (H, W divisible by 2^(levels-1); normally imageSize).
 * - t: [B] float32, fed unchanged to the sinusoidal embedding (layers.ts timestepEmbedding).
 *   config.timeInput 'discrete': the training timestep 0..T-1 (DDPM). 'continuous': the adapter's
 *   c_noise, fed as is (no scaling inside the network). The embedding's frequencies span 1 down to
 *   1e-4 rad per unit, so c_noise should vary over a range of hundreds like timesteps do: e.g.
 *   999·t for VP/sub-VP SDE time t in [0, 1] (Song et al. 2021, score_sde's DDPM-style models);
 *   sigma-parameterised (VE/EDM) adapters should likewise scale their log-sigma coordinate.
 *
 * No Node imports here (this file also runs in workers and, later, a browser).
 */
import * as tf from '@tensorflow/tfjs';
import { validateUNetConfig, type UNetConfig } from './config';
import { CLASS_EMBEDDING, unetParamSpecs, unetPlan, type BlockPlan, type ParamSpec, type ResBlockPlan, type UNetPlan } from './architecture';
import { attention, conv2d, groupNorm, linear, silu, timestepEmbedding, upsampleNearest2x } from './layers';
import { tensorStream } from './init-rng';

export { paramCountOf, unetParamSpecs, forwardFlops } from './architecture';

export interface UNetOptions {
  /** Seed of the deterministic initialisation (default 0). Each parameter draws from its own
   *  stream keyed by (seed, name), so adding a block does not change the others' initial values. */
  seed?: number;
  /** Variables are trainable (seen by optimizers / tf.variableGrads without a varList). Default true.
   *  Use false for an evaluation copy (e.g. EMA weights for previews). */
  trainable?: boolean;
}

export interface ApplyOptions {
  /** Training mode: enables dropout when config.dropout > 0. Default false. */
  training?: boolean;
  /** Seed of the dropout masks of this call (block i uses dropoutSeed + i); pass e.g. a hash of
   *  (run seed, step) so a resumed run repeats the same masks. Random when omitted. */
  dropoutSeed?: number;
  /** Run with these tensors instead of the model's own variables (same order and shapes as
   *  variables()), e.g. an EMA's shadow weights. */
  weights?: readonly tf.Tensor[];
  /** Class-conditional networks (config.numClasses = K > 0): each row's class index, int32 [B],
   *  0..K-1 for a class, K for the null class (unconditional). Required there, refused elsewhere. */
  labels?: tf.Tensor1D;
  /** Augmentation conditioning [B, config.augmentDim] (training/augment.ts encodeAugment); absent =
   *  zeros (no augmentation), as at sampling time. */
  augment?: tf.Tensor2D;
}

export interface NamedVariable {
  name: string;
  variable: tf.Variable;
}

let instanceCounter = 0;

/**
 * Initial value of one parameter, PyTorch's default reset_parameters(): conv/linear weight by
 * kaiming_uniform_(a=sqrt(5)) whose bound gain*sqrt(3/fan_in) = sqrt(1/3)*sqrt(3/fan_in) =
 * 1/sqrt(fan_in), bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)); GroupNorm weight 1, bias 0.
 */
export function initialValue(spec: ParamSpec, seed: number): Float32Array {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  if (spec.kind === 'norm') {
    if (spec.role === 'weight') out.fill(1);
    return out;
  }
  const rand0 = tensorStream(spec.name, seed);
  if (spec.kind === 'embedding') {
    // torch.nn.Embedding.reset_parameters: N(0, 1) (Box–Muller over the same per-name stream)
    for (let i = 0; i < n; i += 2) {
      const r = Math.sqrt(-2 * Math.log(1 - rand0()));
      const a = 2 * Math.PI * rand0();
      out[i] = r * Math.cos(a);
      if (i + 1 < n) out[i + 1] = r * Math.sin(a);
    }
    return out;
  }
  const bound = 1 / Math.sqrt(spec.fanIn);
  for (let i = 0; i < n; i++) out[i] = (2 * rand0() - 1) * bound;
  return out;
}

type Get = (name: string) => tf.Tensor;

export class UNet {
  readonly config: UNetConfig;
  readonly plan: UNetPlan;
  /** parameter specs in the order of variables() (PyTorch state_dict order). */
  readonly specs: readonly ParamSpec[];
  private vars: tf.Variable[];
  private readonly index = new Map<string, number>();
  private disposed = false;

  constructor(config: UNetConfig, opts: UNetOptions = {}) {
    // Validate before allocating anything; copy so later edits of the caller's object do nothing.
    validateUNetConfig(config);
    this.config = structuredClone(config);
    this.plan = unetPlan(this.config);
    this.specs = unetParamSpecs(this.config);
    const seed = opts.seed ?? 0;
    const trainable = opts.trainable ?? true;
    // tfjs variable names are global in the engine: prefix them per instance.
    const prefix = `unet${instanceCounter++}/`;
    this.vars = this.specs.map((spec, i) => {
      this.index.set(spec.name, i);
      const init = tf.tensor(initialValue(spec, seed), spec.shape, 'float32');
      const v = tf.variable(init, trainable, prefix + spec.name);
      init.dispose();
      return v;
    });
  }

  /** Variables in the stable order of `specs` (PyTorch state_dict order). */
  variables(): tf.Variable[] {
    this.assertAlive();
    return this.vars.slice();
  }

  /** Variables with their PyTorch state_dict names (e.g. `down.0.0.c1.weight`). */
  namedVariables(): NamedVariable[] {
    this.assertAlive();
    return this.specs.map((s, i) => ({ name: s.name, variable: this.vars[i] }));
  }

  paramCount(): number {
    return this.vars.reduce((n, v) => n + v.size, 0);
  }

  /** Forward pass. Returns a new tensor the caller owns; intermediates are released (tf.tidy). */
  apply(x: tf.Tensor4D, t: tf.Tensor1D, opts: ApplyOptions = {}): tf.Tensor4D {
    this.assertAlive();
    this.checkInputs(x, t);
    const params: readonly tf.Tensor[] = opts.weights ?? this.vars;
    if (params.length !== this.vars.length) {
      throw new Error(`UNet.apply: weights has ${params.length} tensors, expected ${this.vars.length} (the order of variables())`);
    }
    const get: Get = (name) => {
      const i = this.index.get(name);
      if (i === undefined) throw new Error(`UNet: no parameter ${name} (internal error)`);
      return params[i];
    };
    const K = this.config.numClasses ?? 0;
    if (K > 0 && !opts.labels) throw new Error(`UNet.apply: this network is class-conditional (${K} classes); pass labels [B] (${K} = the null class)`);
    if (K === 0 && opts.labels) throw new Error('UNet.apply: labels given to an unconditional network');
    if (opts.labels && (opts.labels.rank !== 1 || opts.labels.shape[0] !== x.shape[0] || opts.labels.dtype !== 'int32')) {
      throw new Error(`UNet.apply: labels must be int32 [B] = [${x.shape[0]}], got ${opts.labels.dtype} [${opts.labels.shape.join(', ')}]`);
    }
    const dropout = opts.training && this.config.dropout > 0 ? this.config.dropout : 0;
    const augDim = this.config.augmentDim ?? 0;
    if (opts.augment && (augDim === 0 || opts.augment.shape[0] !== x.shape[0] || opts.augment.shape[1] !== augDim)) {
      throw new Error(`UNet.apply: augment must be [${x.shape[0]}, ${augDim}] for this network${augDim === 0 ? ' (it has no augmentation conditioning)' : ''}, got [${opts.augment.shape.join(', ')}]`);
    }
    return tf.tidy(() => forward(this.plan, get, x, t, dropout, opts.dropoutSeed, opts.labels, opts.augment));
  }

  dispose(): void {
    if (this.disposed) return;
    for (const v of this.vars) v.dispose();
    this.vars = [];
    this.disposed = true;
  }

  private assertAlive(): void {
    if (this.disposed) throw new Error('UNet: used after dispose()');
  }

  private checkInputs(x: tf.Tensor, t: tf.Tensor): void {
    const c = this.config;
    const f = 2 ** (c.channelMults.length - 1);
    const xs = x.shape as number[];
    if (x.rank !== 4 || xs[3] !== c.inChannels || xs[1] % f !== 0 || xs[2] % f !== 0) {
      throw new Error(`UNet.apply: x must be NHWC [B, H, W, ${c.inChannels}] with H and W divisible by ${f}, got [${xs.join(', ')}]`);
    }
    if (t.rank !== 1 || t.shape[0] !== xs[0]) {
      throw new Error(`UNet.apply: t must be [B] = [${xs[0]}], got [${t.shape.join(', ')}]`);
    }
  }
}

function resBlock(b: ResBlockPlan, get: Get, x: tf.Tensor4D, tembAct: tf.Tensor2D, groups: number, dropout: number, seed: number | undefined): tf.Tensor4D {
  const p = (n: string) => get(`${b.name}.${n}`);
  const [B] = x.shape;
  let h = conv2d(silu(groupNorm(x, p('n1.weight') as tf.Tensor1D, p('n1.bias') as tf.Tensor1D, groups)), p('c1.weight') as tf.Tensor4D, p('c1.bias') as tf.Tensor1D);
  // time embedding projected per channel, added after the first conv
  const tproj = linear(tembAct, p('t.weight') as tf.Tensor2D, p('t.bias') as tf.Tensor1D);
  h = tf.add(h, tf.reshape(tproj, [B, 1, 1, b.cout]));
  let a = silu(groupNorm(h, p('n2.weight') as tf.Tensor1D, p('n2.bias') as tf.Tensor1D, groups));
  // dropout where DDPM's ResnetBlock has it: after the second norm+SiLU, before conv2
  if (dropout > 0) a = tf.dropout(a, dropout, undefined, seed) as tf.Tensor4D;
  h = conv2d(a, p('c2.weight') as tf.Tensor4D, p('c2.bias') as tf.Tensor1D);
  const skip = b.cin !== b.cout ? conv2d(x, p('skip.weight') as tf.Tensor4D, p('skip.bias') as tf.Tensor1D) : x;
  return tf.add(skip, h) as tf.Tensor4D;
}

function attnBlock(name: string, get: Get, x: tf.Tensor4D, groups: number): tf.Tensor4D {
  const p = (n: string) => get(`${name}.${n}`);
  return attention(
    x,
    {
      normW: p('n.weight') as tf.Tensor1D,
      normB: p('n.bias') as tf.Tensor1D,
      qkvW: p('qkv.weight') as tf.Tensor4D,
      qkvB: p('qkv.bias') as tf.Tensor1D,
      projW: p('proj.weight') as tf.Tensor4D,
      projB: p('proj.bias') as tf.Tensor1D,
    },
    groups,
  );
}

/** torch_ref.py UNet.forward, NHWC. */
function forward(plan: UNetPlan, get: Get, x: tf.Tensor4D, t: tf.Tensor1D, dropout: number, dropoutSeed: number | undefined, labels?: tf.Tensor1D, augment?: tf.Tensor2D): tf.Tensor4D {
  const { groups, baseChannels } = plan.config;
  let blockNo = 0;
  const seedFor = () => (dropoutSeed === undefined ? undefined : dropoutSeed + blockNo++);

  // temb = Linear(SiLU(Linear(emb))); every ResBlock uses SiLU(temb), computed once here.
  let emb = timestepEmbedding(tf.cast(t, 'float32') as tf.Tensor1D, baseChannels);
  // + the augmentation labels through a bias-free linear map (EDM's map_augment, Karras et al. 2022)
  if (augment) emb = tf.add(emb, tf.matMul(augment, get('aug.weight') as tf.Tensor2D));
  let temb = linear(silu(linear(emb, get('temb.0.weight') as tf.Tensor2D, get('temb.0.bias') as tf.Tensor1D)), get('temb.2.weight') as tf.Tensor2D, get('temb.2.bias') as tf.Tensor1D);
  // class-conditional: temb += cemb[label] (Ho & Salimans 2022 §3; the class embedding is added to
  // the time embedding as in Dhariwal & Nichol 2021's class-conditional ADM, label K = null class)
  if (labels) temb = tf.add(temb, tf.gather(get(CLASS_EMBEDDING) as tf.Tensor2D, labels)) as tf.Tensor2D;
  const tembAct = silu(temb);

  const res = (b: ResBlockPlan, h: tf.Tensor4D) => {
    let out = resBlock(b, get, h, tembAct, groups, dropout, seedFor());
    if (b.attn) out = attnBlock(b.attn, get, out, groups);
    return out;
  };

  let h = conv2d(x, get('cin.weight') as tf.Tensor4D, get('cin.bias') as tf.Tensor1D);
  const hs: tf.Tensor4D[] = [h];
  for (const b of plan.down) {
    h = b.kind === 'res' ? res(b, h) : conv2d(h, get(`${b.name}.weight`) as tf.Tensor4D, get(`${b.name}.bias`) as tf.Tensor1D, 2);
    hs.push(h);
  }
  h = resBlock(plan.mid[0], get, h, tembAct, groups, dropout, seedFor());
  h = attnBlock(plan.mid[1].name, get, h, groups);
  h = resBlock(plan.mid[2], get, h, tembAct, groups, dropout, seedFor());
  for (const b of plan.up as BlockPlan[]) {
    if (b.kind === 'res') {
      const skip = hs.pop();
      if (!skip) throw new Error('UNet: skip stack underflow (internal error)');
      h = res(b, tf.concat([h, skip], 3));
    } else if (b.kind === 'up') {
      h = conv2d(upsampleNearest2x(h), get(`${b.name}.weight`) as tf.Tensor4D, get(`${b.name}.bias`) as tf.Tensor1D);
    }
  }
  const out = groupNorm(h, get('nout.weight') as tf.Tensor1D, get('nout.bias') as tf.Tensor1D, groups);
  return conv2d(silu(out), get('cout.weight') as tf.Tensor4D, get('cout.bias') as tf.Tensor1D);
}
