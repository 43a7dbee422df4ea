/**
 * GPU check (docs/design-notes.md §The GPU check): run on the GPU machine by tests/gpu/run.sh,
 * bundled into one file by scripts/pack-gpu-check.mjs (tfjs inlined; onnxruntime-node travels
 * beside it in .gpu/node_modules). Writes ONE JSON object (stdout's last line and --out FILE):
 *   providers      what the automatic choice does here (every provider: available/selected/why)
 *   train[]        the bench train step (bench UNet, torch_ref.py's workload, ORT gradient graph
 *                  + tfjs-wasm Adam) per provider and batch: seconds per step, images/s, and the
 *                  gradient graph's share
 *   ddim[]         DDIM-20 sampling per provider and batch: images/s
 *   cpu_ratio      per batch, train_step_s on CPU / on each GPU provider (same run)
 * Providers: webgpu, cuda when its provider library is present, and cpu (the reference); each
 * GPU one is first probed against the CPU (onnx/providers.ts) and left out, with why, on failure.
 *
 * Flags: --tiny (a tiny UNet, batches 2 and 4, DDIM 3 steps, 1 timed step: proves the packed check
 * runs end to end on any machine, e.g. SwiftShader), --providers=webgpu,cuda,cpu, --batches=16,64,128,
 * --ddim-batches=16,64,128, --steps=5 (timed train steps), --ddim-steps=20, --out=FILE.
 */
import { writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { BENCH_UNET_CONFIG, type UNetConfig } from '../../src-main/network/config';
import { benchOrtSampling, chooseProvider, machineProviderFacts, providerAvailability, type OrtProvider } from '../../src-main/onnx/index';
import { benchTrainStep } from '../../src-main/training/bench-train';
import { initTrainingBackend } from '../../src-main/training/backend';
import { PROBE_UNET, trainingProbeWorkload } from '../../src-main/training/onnx/provider-probe';

const args = new Map(process.argv.slice(2).map((a) => {
  const [k, v] = a.replace(/^--/, '').split('=');
  return [k, v ?? 'true'] as [string, string];
}));
const tiny = args.get('tiny') === 'true';
const list = (k: string, d: string) => (args.get(k) ?? d).split(',').map((s) => s.trim()).filter(Boolean);
const ints = (k: string, d: string) => list(k, d).map(Number);
const say = (m: string) => process.stderr.write(`[gpu-check] ${m}\n`);

const TINY_UNET: UNetConfig = { ...PROBE_UNET, imageSize: 16, attentionResolutions: [8] };

async function main(): Promise<Record<string, unknown>> {
  tf.enableProdMode();
  // Adam and the weights stay in tfjs (wasm), as in the trainer; the gradients come from ORT
  const tfjs = await initTrainingBackend('wasm');
  const config = tiny ? TINY_UNET : BENCH_UNET_CONFIG;
  const batches = ints('batches', tiny ? '2,4' : '16,64,128');
  const ddimBatches = ints('ddim-batches', tiny ? '2' : '16,64,128');
  const steps = Number(args.get('steps') ?? (tiny ? 1 : 5));
  const ddimSteps = Number(args.get('ddim-steps') ?? (tiny ? 3 : 20));
  const facts = await machineProviderFacts();
  const wanted = list('providers', 'webgpu,cuda,cpu') as OrtProvider[];
  const available = providerAvailability(facts);

  say('probing the providers (automatic choice)');
  const auto = await chooseProvider({ requested: 'auto', workload: trainingProbeWorkload(), exhaustive: true, facts, log: say });
  const usable: OrtProvider[] = [];
  const skipped: Record<string, string> = {};
  for (const p of wanted) {
    const a = available.find((r) => r.provider === p);
    if (!a?.available) {
      skipped[p] = a?.why ?? 'unknown provider';
      continue;
    }
    try {
      // forced: correctness against the CPU only (a software adapter still runs, e.g. --tiny on SwiftShader)
      await chooseProvider({ requested: p, workload: trainingProbeWorkload(), facts });
      usable.push(p);
    } catch (e) {
      skipped[p] = (e as Error).message;
    }
  }
  say(`measuring on ${usable.join(', ')}${Object.keys(skipped).length ? ` (left out: ${Object.entries(skipped).map(([k, v]) => `${k}: ${v}`).join('; ')})` : ''}`);

  const train: Record<string, unknown>[] = [];
  for (const provider of usable) {
    for (const batch of batches) {
      say(`train step: ${provider}, batch ${batch}`);
      try {
        const r = await benchTrainStep({ batch, steps, warmup: 1, profile: false, gradients: 'onnxruntime', provider, config });
        train.push({ provider, batch, train_step_s: r.train_step_s, images_per_s: batch / r.train_step_s, gradient_s: r.gradient_s, train_gflops: r.train_gflops, ort_threads: r.ort_threads, all_s: r.train_step_s_all });
      } catch (e) {
        train.push({ provider, batch, error: (e as Error).message.split('\n')[0] });
      }
    }
  }
  const ddim: Record<string, unknown>[] = [];
  for (const provider of usable) {
    for (const batch of ddimBatches) {
      say(`DDIM-${ddimSteps}: ${provider}, batch ${batch}`);
      try {
        const r = await benchOrtSampling({ provider, batch, steps: ddimSteps, config });
        ddim.push({ provider, batch, steps: ddimSteps, sample_s: r.sample_s, images_per_s: r.sample_img_per_s, gflops: r.gflops });
      } catch (e) {
        ddim.push({ provider, batch, error: (e as Error).message.split('\n')[0] });
      }
    }
  }
  const cpuRatio: Record<string, Record<string, number>> = {};
  for (const row of train) {
    if (row.provider === 'cpu' || typeof row.train_step_s !== 'number') continue;
    const cpu = train.find((r) => r.provider === 'cpu' && r.batch === row.batch && typeof r.train_step_s === 'number');
    if (cpu) (cpuRatio[row.provider as string] ??= {})[String(row.batch)] = (cpu.train_step_s as number) / (row.train_step_s as number);
  }
  return {
    check: 'gpu-check',
    tiny,
    date: new Date().toISOString(),
    config: tiny ? 'tiny (16 px, base 8)' : 'bench UNet',
    tfjs_backend: tfjs.active,
    facts,
    providers: auto.table,
    measured: usable,
    skipped,
    train,
    ddim,
    cpu_ratio: cpuRatio,
  };
}

main().then(
  (result) => {
    const text = JSON.stringify(result);
    const out = args.get('out');
    if (out) writeFileSync(out, text + '\n');
    console.log(text);
    process.exit(0);
  },
  (e) => {
    console.log(JSON.stringify({ check: 'error', message: (e as Error).stack ?? String(e) }));
    process.exit(1);
  },
);
