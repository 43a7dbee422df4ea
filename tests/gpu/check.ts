/**
 * GPU check (docs/design-notes.md §The GPU check): run on the NVIDIA machine by tests/gpu/run.sh, bundled into one file
 * by scripts/pack-gpu-check.mjs (tfjs inlined; only Dawn's `webgpu` package travels beside it).
 * 1. The training bench (bench UNet, batch 16, torch_ref.py's workload) on the requested backend.
 * 2. A short real-data training (the demo emoji at 32 px) with its loss curve.
 * Prints one JSON line per result. The CPU path (no GPU adapter) falls back down the ladder and
 * says why, so the script can be exercised anywhere.
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { gradientEngineOf, selectTrainingBackend } from '../../src-main/training/backends/ladder';
import { benchTrainStep } from '../../src-main/training/bench-train';
import { resolveTrainConfig } from '../../src-main/training/config';
import { Trainer } from '../../src-main/training/trainer';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const backend = args.get('backend');
const dataFile = args.get('data') ?? 'demo-32.bin';

async function main(): Promise<void> {
  tf.enableProdMode();
  let sel;
  try {
    sel = await selectTrainingBackend(backend ? { override: backend } : {});
  } catch (e) {
    console.log(JSON.stringify({ check: 'backend', requested: backend, error: (e as Error).message }));
    sel = await selectTrainingBackend({});
  }
  console.log(JSON.stringify({ check: 'backend', active: sel.active, provider: sel.provider, reasons: sel.reasons }));

  const gradients = gradientEngineOf(sel.active);
  const bench = await benchTrainStep({ batch: 16, steps: Number(args.get('steps') ?? 5), warmup: 2, profile: false, gradients });
  console.log(JSON.stringify({ check: 'bench-train', backend: sel.active, ...bench }));

  // Real data: uint8 NHWC emoji cache (count x 32 x 32 x 3) packed by pack-gpu-check.mjs.
  const bytes = new Uint8Array(readFileSync(dataFile));
  const size = 32;
  const count = bytes.length / (size * size * 3);
  const config = resolveTrainConfig(
    { imageSize: size, baseChannels: 64, channelMults: [1, 2, 2], attentionResolutions: [8], batchSize: 16, lr: 4e-4, warmupSteps: 50, steps: Number(args.get('train-steps') ?? 300), workers: 0 },
    count,
  );
  const trainer = new Trainer(config, 0, { pixels: bytes, count, size, channels: 3 }, { gradients });
  const t0 = performance.now();
  const losses: number[] = [];
  for (let k = 0; k < config.steps; k++) losses.push((await trainer.trainStep()).loss);
  const seconds = (performance.now() - t0) / 1000;
  const avg = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
  console.log(
    JSON.stringify({
      check: 'real-data-training',
      backend: sel.active,
      images: count,
      steps: config.steps,
      seconds,
      steps_per_s: config.steps / seconds,
      loss_first20: avg(losses.slice(0, 20)),
      loss_last20: avg(losses.slice(-20)),
    }),
  );
  await trainer.dispose();
}

main().then(
  () => process.exit(0),
  (e) => {
    console.log(JSON.stringify({ check: 'error', message: (e as Error).stack ?? String(e) }));
    process.exit(1);
  },
);
