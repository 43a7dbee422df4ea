/**
 * Figure for issue 14 item 1: class accuracy of class-conditional samples at guidance W = 1 and
 * W = 3 (Ho & Salimans 2022 report the same trade: higher W, samples more typical of the class).
 *
 * Data: Fashion-MNIST (Debian `dataset-fashion-mnist`, MIT; /usr/share/datasets/fashion-mnist),
 * four classes that differ in shape (T-shirt/top, Trouser, Sneaker, Bag), `--per-class` training
 * images each, box-downsampled 28 -> 14 px and padded to 16 px, grey copied to RGB.
 * Model: a small class-conditional UNet trained in-process by the real Trainer (ORT gradients,
 * label dropout `--cond-dropout`), sampled from its EMA weights through the exported ONNX graph
 * (class input) with DDIM, via the one guidance wrapper.
 * Classifier: k-nearest neighbours (k = 5, Euclidean on the 16x16 grey pixels) fitted on the
 * training images; its accuracy on held-out real test images of the same classes is the ceiling.
 *
 *   npx tsx scripts/class-accuracy.ts [--steps 1500] [--per-class 300] [--samples 50] [--seed 1]
 *                                     [--base-channels 16] [--batch 16] [--cond-dropout 0.1]
 * prints one JSON line.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { resolveTrainConfig } from '../src-main/training/config';
import { Trainer, type TrainingData } from '../src-main/training/trainer';
import { exportUNetToOnnx } from '../src-main/onnx/export';
import { createOrtSession, ortNetwork } from '../src-main/onnx/session';
import { guidedNetwork, sampleSeeds } from '../src-main/diffusion/index';
import { familyDenoiser, processOf } from '../src-main/diffusion/model-family';
import { modelToByte } from '../src-main/diffusion/pixels';

const { values: a } = parseArgs({
  options: {
    steps: { type: 'string', default: '1500' },
    'per-class': { type: 'string', default: '300' },
    samples: { type: 'string', default: '50' },
    seed: { type: 'string', default: '1' },
    'cond-dropout': { type: 'string', default: '0.1' },
    'base-channels': { type: 'string', default: '16' },
    batch: { type: 'string', default: '16' },
    dir: { type: 'string', default: '/usr/share/datasets/fashion-mnist' },
  },
});
const STEPS = Number(a.steps);
const PER_CLASS = Number(a['per-class']);
const SAMPLES = Number(a.samples);
const SEED = Number(a.seed);
const CLASSES = [
  { label: 0, name: 'tshirt' },
  { label: 1, name: 'trouser' },
  { label: 7, name: 'sneaker' },
  { label: 8, name: 'bag' },
];
const S = 16;

function idx(file: string): { dims: number[]; data: Uint8Array } {
  const b = gunzipSync(readFileSync(`${a.dir}/${file}`));
  const n = b[3];
  const dims = Array.from({ length: n }, (_, i) => b.readUInt32BE(4 + 4 * i));
  return { dims, data: new Uint8Array(b.buffer, b.byteOffset + 4 + 4 * n, dims.reduce((p, q) => p * q, 1)) };
}

/** 28x28 -> 14x14 (2x2 box mean) centred in 16x16 with a 1 px background border: grey bytes. */
function shrink(img: Uint8Array, off: number): Uint8Array {
  const out = new Uint8Array(S * S);
  for (let y = 0; y < 14; y++)
    for (let x = 0; x < 14; x++) {
      const p = (r: number, c: number) => img[off + r * 28 + c];
      out[(y + 1) * S + x + 1] = Math.round((p(2 * y, 2 * x) + p(2 * y, 2 * x + 1) + p(2 * y + 1, 2 * x) + p(2 * y + 1, 2 * x + 1)) / 4);
    }
  return out;
}

function pick(images: string, labels: string, perClass: number): { grey: Uint8Array[]; cls: number[] } {
  const im = idx(images);
  const lb = idx(labels);
  const grey: Uint8Array[] = [];
  const cls: number[] = [];
  const taken = new Array<number>(CLASSES.length).fill(0);
  for (let i = 0; i < lb.data.length; i++) {
    const k = CLASSES.findIndex((c) => c.label === lb.data[i]);
    if (k < 0 || taken[k] >= perClass) continue;
    taken[k]++;
    grey.push(shrink(im.data, i * 28 * 28));
    cls.push(k);
  }
  return { grey, cls };
}

/** k-NN (k = 5, squared Euclidean) on grey bytes; ties go to the nearest neighbour's class. */
function knn(train: { grey: Uint8Array[]; cls: number[] }, q: Uint8Array, k = 5): number {
  const d = train.grey.map((g, i) => {
    let s = 0;
    for (let j = 0; j < g.length; j++) s += (g[j] - q[j]) ** 2;
    return { s, c: train.cls[i] };
  });
  d.sort((p, r) => p.s - r.s);
  const votes = new Array<number>(CLASSES.length).fill(0);
  for (const x of d.slice(0, k)) votes[x.c]++;
  const best = Math.max(...votes);
  return d.slice(0, k).find((x) => votes[x.c] === best)!.c;
}

async function main(): Promise<void> {
  await tf.setBackend('cpu');
  tf.enableProdMode();
  const train = pick('train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', PER_CLASS);
  const test = pick('t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz', 100);
  const ceiling = test.grey.filter((g, i) => knn(train, g) === test.cls[i]).length / test.grey.length;

  const n = train.grey.length;
  const pixels = new Uint8Array(n * S * S * 3);
  train.grey.forEach((g, i) => g.forEach((v, p) => pixels.fill(v, (i * S * S + p) * 3, (i * S * S + p) * 3 + 3)));
  const data: TrainingData = { pixels, count: n, size: S, channels: 3, labels: Int32Array.from(train.cls) };
  const config = resolveTrainConfig(
    {
      imageSize: S,
      baseChannels: Number(a['base-channels']),
      channelMults: [1, 2],
      attentionResolutions: [],
      groups: 8,
      batchSize: Number(a.batch),
      lr: 1e-3,
      warmupSteps: 50,
      ema: 0.995,
      hflip: false,
      steps: STEPS,
      classConditional: true,
      condDropout: Number(a['cond-dropout']),
      classes: CLASSES.map((c) => c.name),
      workers: 2,
    },
    n,
  );
  const trainer = new Trainer(config, SEED, data, { gradients: 'onnxruntime' });
  const t0 = performance.now();
  let loss = 0;
  for (let s = 0; s < STEPS; s++) {
    loss = (await trainer.trainStep()).loss;
    if ((s + 1) % 250 === 0) process.stderr.write(`step ${s + 1}/${STEPS} loss ${loss.toFixed(4)} (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
  }
  const trainSeconds = (performance.now() - t0) / 1000;
  const bytes = exportUNetToOnnx({ config: trainer.model.config, tensors: trainer.namedState() }, { prediction: 'eps', schedule: config.schedule, appVersion: 'figure', classes: config.classes });
  await trainer.dispose();
  const session = await createOrtSession(bytes, { provider: 'cpu', log: () => {}, intraOpThreads: 2, reuse: false });
  const process_ = processOf(config.schedule);
  const result: Record<string, unknown> = { figure: 'class_accuracy', baseChannels: config.baseChannels, batch: config.batchSize, dataset: 'fashion-mnist 4 classes (tshirt, trouser, sneaker, bag)', trainImages: n, imageSize: S, steps: STEPS, finalLoss: loss, trainSeconds, classifier: 'kNN k=5 on 16x16 grey pixels', heldOutRealAccuracy: ceiling };
  for (const W of [1, 3]) {
    let right = 0;
    const perClass: Record<string, number> = {};
    for (let k = 0; k < CLASSES.length; k++) {
      const net = guidedNetwork(ortNetwork(session), { labels: k, nullClass: CLASSES.length, scale: W });
      const denoiser = familyDenoiser(net, config.schedule, config.objective, process_);
      const seeds = Array.from({ length: SAMPLES }, (_, i) => 10_000 * (k + 1) + i);
      let ok = 0;
      for (let b = 0; b < SAMPLES; b += 25) {
        const batch = seeds.slice(b, b + 25);
        const { x } = await sampleSeeds({ denoiser, process: process_, sampler: { name: 'ddim', steps: 25 }, seeds: batch, shape: [batch.length, 3, S, S] });
        for (let i = 0; i < batch.length; i++) {
          const g = new Uint8Array(S * S);
          for (let p = 0; p < S * S; p++) g[p] = Math.round((modelToByte(x[(i * 3 + 0) * S * S + p]) + modelToByte(x[(i * 3 + 1) * S * S + p]) + modelToByte(x[(i * 3 + 2) * S * S + p])) / 3);
          if (knn(train, g) === k) ok++;
        }
      }
      perClass[CLASSES[k].name] = ok / SAMPLES;
      right += ok;
    }
    result[`accuracyW${W}`] = right / (SAMPLES * CLASSES.length);
    result[`perClassW${W}`] = perClass;
  }
  await session.dispose();
  result.samplesPerClass = SAMPLES;
  result.sampler = 'ddim 25 steps, EMA weights, ONNX Runtime';
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

void main();
