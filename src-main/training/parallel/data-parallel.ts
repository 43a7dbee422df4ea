/**
 * Data-parallel loss and gradients of a UNet (docs/design-notes.md §Training backends: tfjs-wasm runs one thread in Node,
 * so one replica per core): the coordinator's model is the master copy; a micro-batch is cut into
 * shards (shards.ts), shard s goes to gradient worker s (pool.ts), and the summed loss and
 * gradients come back as tensors on the coordinator, which then clips, steps Adam and updates the
 * EMA exactly as the single-thread path does.
 *
 * `localShard`: the coordinator computes shard 0 itself while the workers compute the others (one
 * replica fewer; the coordinator's core is busy instead of idle). Off by default: measured on the
 * bench (see the training note), N workers and an idle coordinator were faster than N-1 workers
 * plus the coordinator, whose step also carries Adam, EMA and the weight copies.
 */
import * as tf from '@tensorflow/tfjs';
import type { UNet } from '../../network/unet';
import { shardLossAndGrads } from './compute';
import { physicalCores } from './cores';
import { GradientPool } from './pool';
import type { WorkerBackend } from './protocol';
import { splitBatch, type BatchArrays } from './shards';

export interface DataParallelOptions {
  /** gradient worker threads */
  workers: number;
  backend: WorkerBackend;
  /** the coordinator computes one shard too (total shards = workers + 1) */
  localShard?: boolean;
}

export interface ParallelGrads {
  loss: number;
  /** summed gradients in the order of model.variables(); the caller owns them */
  grads: tf.Tensor[];
  /** compute ms of each shard (local shard first when there is one) */
  computeMs: number[];
  kernelMs?: Record<string, number>;
}

/**
 * Worker threads to use: `requested` > 0 is taken as is, 0 means one per physical core on wasm and none
 * (in-process) elsewhere; backends other than wasm/cpu (tfjs-node, webgpu: already parallel)
 * always compute in-process. Never more shards than batch rows. 1 = the in-process path.
 */
export function resolveWorkerCount(requested: number | undefined, backend: string, batch: number): number {
  if (backend !== 'wasm' && backend !== 'cpu') return 1;
  const n = requested && requested > 0 ? requested : backend === 'wasm' ? physicalCores() : 1;
  return Math.max(1, Math.min(Math.floor(n), batch));
}

export class DataParallel {
  readonly pool: GradientPool;
  readonly localShard: boolean;
  /** shards per micro-batch */
  readonly shards: number;
  private readonly sizes: number[];

  constructor(
    private readonly model: UNet,
    opts: DataParallelOptions,
  ) {
    this.localShard = !!opts.localShard;
    this.pool = new GradientPool({ size: opts.workers, backend: opts.backend, config: model.config });
    this.shards = opts.workers + (this.localShard ? 1 : 0);
    this.sizes = model.variables().map((v) => v.size);
  }

  get ready(): Promise<void> {
    return this.pool.ready;
  }

  /** Publishes the coordinator's current weights to the workers (once per optimiser step). */
  syncWeights(): void {
    this.pool.writeWeights(this.model.variables().map((v) => v.dataSync() as Float32Array));
  }

  /**
   * Loss and gradients of one micro-batch of `fullBatch` rows, from `shards` shards; shard s uses
   * dropout seed `seedOf(s)`. Weights must have been synced for this optimiser step.
   */
  async lossAndGrads(batch: BatchArrays, fullBatch: number, seedOf: (shard: number) => number, opts: { profile?: boolean } = {}): Promise<ParallelGrads> {
    await this.pool.ready;
    const parts = splitBatch(batch, fullBatch, this.shards);
    const local = this.localShard ? parts[0] : undefined;
    const remote = this.localShard ? parts.slice(1) : parts;
    const seeds = remote.map((_, i) => seedOf(i + (this.localShard ? 1 : 0)));
    const pending = this.pool.step(remote, fullBatch, seeds, opts);
    let localLoss = 0;
    let localGrads: Float32Array[] | undefined;
    let localMs: number[] = [];
    if (local) {
      // overlaps with the workers (their shards were posted synchronously above)
      const t0 = performance.now();
      try {
        const r = shardLossAndGrads(this.model, local, local.rows, fullBatch, seedOf(0));
        localLoss = r.loss;
        localGrads = r.grads.map((g) => g.dataSync() as Float32Array);
        tf.dispose(r.grads);
      } catch (e) {
        pending.catch(() => {});
        throw e;
      }
      localMs = [performance.now() - t0];
    }
    const res = await pending;
    const flat = res.grads;
    const vars = this.model.variables();
    let off = 0;
    const grads = this.sizes.map((n, i) => {
      const view = flat.subarray(off, off + n);
      if (localGrads) {
        const lg = localGrads[i];
        for (let j = 0; j < n; j++) view[j] += lg[j];
      }
      off += n;
      return tf.tensor(view, vars[i].shape, 'float32');
    });
    return { loss: res.loss + localLoss, grads, computeMs: [...localMs, ...res.computeMs], kernelMs: res.kernelMs };
  }

  dispose(): Promise<void> {
    return this.pool.dispose();
  }
}
