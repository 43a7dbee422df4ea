/**
 * Adam (Kingma & Ba 2015, Algorithm 1) and AdamW (Loshchilov & Hutter 2019, Algorithm 2) over a
 * list of tf.Variables, written out so the state (m, v, step) is ours to checkpoint by parameter
 * name and the learning rate can change every step. Matches PyTorch's Adam/AdamW update:
 *   m ← β1 m + (1-β1) g,  v ← β2 v + (1-β2) g²,
 *   p ← p - lr·wd·p (AdamW, decoupled),  p ← p - lr · m̂ / (√v̂ + ε),  m̂ = m/(1-β1^k), v̂ = v/(1-β2^k).
 */
import * as tf from '@tensorflow/tfjs';

export interface AdamOptions {
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  /** decoupled weight decay (AdamW); 0 = plain Adam */
  weightDecay?: number;
  /** which variables get weight decay (conv / linear weights; not biases or norms) */
  decayMask?: readonly boolean[];
}

let counter = 0;

export class Adam {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly weightDecay: number;
  private readonly decayMask: readonly boolean[];
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];
  /** optimiser steps taken (k in the bias corrections) */
  step = 0;

  constructor(
    private readonly params: readonly tf.Variable[],
    opts: AdamOptions = {},
  ) {
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.epsilon = opts.epsilon ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0;
    this.decayMask = opts.decayMask ?? params.map(() => true);
    const id = counter++;
    this.m = params.map((p, i) => tf.variable(tf.zerosLike(p), false, `adam${id}/m${i}`));
    this.v = params.map((p, i) => tf.variable(tf.zerosLike(p), false, `adam${id}/v${i}`));
  }

  /** Apply one update with gradients in the order of `params`. */
  apply(grads: readonly tf.Tensor[], lr: number): void {
    if (grads.length !== this.params.length) throw new Error(`Adam.apply: ${grads.length} gradients for ${this.params.length} parameters`);
    this.step++;
    const k = this.step;
    const bc1 = 1 - Math.pow(this.beta1, k);
    const bc2 = 1 - Math.pow(this.beta2, k);
    tf.tidy(() => {
      const b1 = tf.scalar(this.beta1);
      const b2 = tf.scalar(this.beta2);
      const ob1 = tf.scalar(1 - this.beta1);
      const ob2 = tf.scalar(1 - this.beta2);
      const stepSize = tf.scalar(lr / bc1);
      const sqrtBc2 = tf.scalar(Math.sqrt(bc2));
      const eps = tf.scalar(this.epsilon);
      const decay = tf.scalar(1 - lr * this.weightDecay);
      this.params.forEach((p, i) => {
        const g = grads[i];
        const m = tf.add(tf.mul(this.m[i], b1), tf.mul(g, ob1));
        const v = tf.add(tf.mul(this.v[i], b2), tf.mul(tf.square(g), ob2));
        this.m[i].assign(m);
        this.v[i].assign(v);
        const base = this.weightDecay > 0 && this.decayMask[i] ? tf.mul(p, decay) : p;
        // PyTorch form: denom = √v / √bc2 + ε; p -= (lr / bc1) · m / denom.
        const denom = tf.add(tf.div(tf.sqrt(v), sqrtBc2), eps);
        p.assign(tf.sub(base, tf.mul(stepSize, tf.div(m, denom))));
      });
    });
  }

  /** State for checkpoints: first and second moments in parameter order. */
  state(): { step: number; m: tf.Variable[]; v: tf.Variable[] } {
    return { step: this.step, m: this.m.slice(), v: this.v.slice() };
  }

  setState(step: number, m: readonly Float32Array[], v: readonly Float32Array[]): void {
    if (m.length !== this.m.length || v.length !== this.v.length) throw new Error('Adam.setState: the checkpoint has a different number of parameters');
    this.step = step;
    tf.tidy(() => {
      this.m.forEach((vr, i) => vr.assign(tf.tensor(m[i], vr.shape)));
      this.v.forEach((vr, i) => vr.assign(tf.tensor(v[i], vr.shape)));
    });
  }

  dispose(): void {
    for (const x of [...this.m, ...this.v]) x.dispose();
  }
}

/**
 * Learning rate at optimiser step k (1-based): linear warm-up over `warmupSteps` (Goyal et al.
 * 2017), then constant or cosine decay to `minLr` at `total` (Loshchilov & Hutter 2017, SGDR eq. 5
 * without restarts).
 */
export function learningRate(k: number, c: { lr: number; warmupSteps: number; lrSchedule: 'constant' | 'cosine'; minLr: number; steps: number }): number {
  if (c.warmupSteps > 0 && k <= c.warmupSteps) return (c.lr * k) / c.warmupSteps;
  if (c.lrSchedule === 'constant') return c.lr;
  const span = Math.max(1, c.steps - c.warmupSteps);
  const progress = Math.min(1, Math.max(0, (k - c.warmupSteps) / span));
  return c.minLr + 0.5 * (c.lr - c.minLr) * (1 + Math.cos(Math.PI * progress));
}
