/**
 * Exponential moving average of a list of variables, with warm-up.
 *
 *   shadow <- decay_n * shadow + (1 - decay_n) * value,   decay_n = min(decay, (1 + n) / (10 + n))
 *
 * where n counts the updates made so far. The warm-up is TensorFlow's
 * tf.train.ExponentialMovingAverage(num_updates=...) rule ("decay = min(decay, (1 + num_updates)
 * / (10 + num_updates))"), also used by the DDPM and score_sde code bases: early averages are not
 * dominated by the random initial weights. With warmup off, decay_n = decay (lucidrains' EMA
 * without update_after_step).
 *
 * The shadows are non-trainable tf.Variables (optimizers never see them), owned by this object.
 */
import * as tf from '@tensorflow/tfjs';

export interface EMAOptions {
  /** target decay, e.g. 0.999 (default 0.9999). */
  decay?: number;
  /** apply the (1 + n) / (10 + n) warm-up (default true). */
  warmup?: boolean;
  /** number of updates already made (when restoring from a checkpoint). Default 0. */
  updates?: number;
}

let emaCounter = 0;

/** decay_n of the header: the decay of the update made after `n` earlier updates. */
export function emaDecayAt(decay: number, warmup: boolean, n: number): number {
  return warmup ? Math.min(decay, (1 + n) / (10 + n)) : decay;
}

export class EMA {
  readonly decay: number;
  readonly warmup: boolean;
  private n: number;
  private readonly source: readonly tf.Variable[];
  private shadowVars: tf.Variable[];

  /** Starts the average at the current values of `source` (copies; `source` stays the caller's). */
  constructor(source: readonly tf.Variable[], opts: EMAOptions = {}) {
    const decay = opts.decay ?? 0.9999;
    if (!(decay >= 0 && decay < 1)) throw new Error(`EMA: decay must be in [0, 1), got ${decay}; use e.g. 0.999`);
    const updates = opts.updates ?? 0;
    if (!Number.isInteger(updates) || updates < 0) throw new Error(`EMA: updates must be a non-negative integer, got ${updates}`);
    this.decay = decay;
    this.warmup = opts.warmup ?? true;
    this.n = updates;
    this.source = source.slice();
    const id = emaCounter++;
    this.shadowVars = this.source.map((v, i) => tf.variable(v, false, `ema${id}/${i}`));
  }

  /** Updates made so far (store it in checkpoints). */
  get updates(): number {
    return this.n;
  }

  /** The decay the next update will use. */
  currentDecay(): number {
    return emaDecayAt(this.decay, this.warmup, this.n);
  }

  /** One EMA step from the current source values. */
  update(): void {
    const d = this.currentDecay();
    tf.tidy(() => {
      const dT = tf.scalar(d);
      const oneMinus = tf.scalar(1 - d);
      this.source.forEach((v, i) => {
        const s = this.shadowVars[i];
        s.assign(tf.add(tf.mul(s, dT), tf.mul(v, oneMinus)));
      });
    });
    this.n++;
  }

  /** The averaged weights, in source order (owned by the EMA; do not dispose). */
  shadows(): tf.Variable[] {
    return this.shadowVars.slice();
  }

  /** Overwrites the averages (e.g. from a checkpoint); values in source order, same shapes. */
  setShadows(values: readonly tf.Tensor[], updates = this.n): void {
    if (values.length !== this.shadowVars.length) throw new Error(`EMA.setShadows: got ${values.length} tensors, expected ${this.shadowVars.length}`);
    values.forEach((t, i) => {
      const s = this.shadowVars[i];
      if (!tf.util.arraysEqual(t.shape, s.shape)) throw new Error(`EMA.setShadows: tensor ${i} has shape [${t.shape}], expected [${s.shape}]`);
    });
    values.forEach((t, i) => this.shadowVars[i].assign(t));
    this.n = updates;
  }

  /** Copies the averages into `targets` (e.g. an evaluation model's variables). */
  copyTo(targets: readonly tf.Variable[]): void {
    if (targets.length !== this.shadowVars.length) throw new Error(`EMA.copyTo: got ${targets.length} variables, expected ${this.shadowVars.length}`);
    targets.forEach((v, i) => v.assign(this.shadowVars[i]));
  }

  dispose(): void {
    for (const s of this.shadowVars) s.dispose();
    this.shadowVars = [];
  }
}
