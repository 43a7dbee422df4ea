/**
 * Figure for issue 14 item 4: does a class-conditional bundled model draw its categories? For each
 * class of the model, `--samples` images at guidance W = 1 and W = 3 (the real sampling service:
 * ONNX Runtime, DDIM `--steps`, one seed range per class), classified by a k-nearest-neighbour
 * pixel classifier (k = 5, Euclidean on the 32x32 RGB images) fitted on the training images of
 * the labelled dataset. The classifier's leave-one-out accuracy on those training images is the
 * ceiling; chance is 1/K.
 *
 *   npx tsx scripts/base-model-accuracy.ts --data-dir LIB --dataset ds_… --model emoji-32-classes \
 *     [--samples 16] [--steps 20]
 * prints one JSON line.
 */
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { readCache } from '../src-main/datasets/cache';
import { Sfumato } from '../src-main/services/sfumato';

const { values: a } = parseArgs({
  options: {
    'data-dir': { type: 'string' },
    dataset: { type: 'string' },
    model: { type: 'string' },
    samples: { type: 'string', default: '16' },
    steps: { type: 'string', default: '20' },
  },
});
if (!a['data-dir'] || !a.dataset || !a.model) throw new Error('--data-dir, --dataset and --model are required');
const N = Number(a.samples);
const K_NN = 5;

const s = await Sfumato.open({ libraryPath: a['data-dir'], mode: 'cli' });
try {
  const models = (await s.api['models:list']({})).models;
  const model = models.find((m) => m.id === a.model);
  if (!model?.trainConfig.classConditional) throw new Error(`${a.model} is not a class-conditional bundled model`);
  const classes = model.trainConfig.classes ?? [];
  const cache = await readCache(s.library.abs((await s.store.datasets.cacheFile(a.dataset))!));
  const images = await s.store.datasets.trainingImages(a.dataset);
  const D = cache.size * cache.size * cache.channels;
  const train = images.indices.map((idx, i) => ({ label: classes.indexOf(images.classes[i] ?? ''), px: cache.pixels.subarray(idx * D, (idx + 1) * D) })).filter((t) => t.label >= 0);
  const classify = (px: Uint8Array, skip?: number): number => {
    const d = train.map((t, i) => {
      if (i === skip) return { l: -1, d: Infinity };
      let s2 = 0;
      for (let k = 0; k < D; k++) s2 += (px[k] - t.px[k]) ** 2;
      return { l: t.label, d: s2 };
    });
    d.sort((x, y) => x.d - y.d);
    const votes = new Array<number>(classes.length).fill(0);
    for (const v of d.slice(0, K_NN)) votes[v.l]++;
    return votes.indexOf(Math.max(...votes));
  };
  let right = 0;
  train.forEach((t, i) => (right += classify(t.px, i) === t.label ? 1 : 0));
  const ceiling = right / train.length;
  const result: Record<string, unknown> = { model: model.id, classes, trainImages: train.length, samplesPerClass: N, sampler: `ddim-${a.steps}`, classifier: `${K_NN}-NN pixels, fitted on the training images`, ceilingLeaveOneOut: ceiling, chance: 1 / classes.length };
  for (const w of [1, 3]) {
    const perClass: Record<string, number> = {};
    let total = 0;
    for (const [ci, name] of classes.entries()) {
      const res = await s.api['sample:generate']({ modelId: model.id, count: N, seed: 1000 * (ci + 1), sampler: 'ddim', steps: Number(a.steps), class: name, guidance: w });
      let ok = 0;
      for (const smp of res.samples) {
        const { data } = await sharp(s.library.abs(smp.file)).removeAlpha().resize(cache.size, cache.size).raw().toBuffer({ resolveWithObject: true });
        if (classify(new Uint8Array(data)) === ci) ok++;
      }
      perClass[name] = ok / N;
      total += ok;
    }
    result[`W${w}`] = { accuracy: total / (N * classes.length), perClass };
  }
  console.log(JSON.stringify(result));
} finally {
  await s.close();
}
