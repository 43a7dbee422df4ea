/**
 * `sfumato bench …` (and `npm run bench -- …`): measurements that print JSON, never timed unit
 * tests. The sampler and likelihood benches run the diffusion core on analytic oracles.
 */
import { promises as fs } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Option, type Command } from 'commander';
import {
  DiffusionConfigError,
  errorVsNfeSvg,
  float32ToLeBytes,
  leBytesToFloat32,
  runLikelihoodBench,
  runSamplerBench,
  validateLikelihoodBenchSpec,
  validateSamplerBenchSpec,
} from '../diffusion/index';
import { writeFileAtomic } from '../db/files';

/** Bad input for a bench: exit code 2 with the field named. */
export class BenchInputError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'BenchInputError';
  }
}

async function readSpec(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    throw new BenchInputError('spec', `--spec ${file}: cannot read it (${(e as Error).message}).`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new BenchInputError('spec', `--spec ${file}: not valid JSON (${(e as Error).message}).`);
  }
}

function asInputError(e: unknown): never {
  if (e instanceof DiffusionConfigError) throw new BenchInputError(e.field, `${e.field}: ${e.message}`);
  throw e;
}

/** The PyTorch reference script (shared/bench/torch_ref.py beside this checkout), if present. */
export function torchRefPath(explicit?: string): string | undefined {
  const candidates = [explicit, process.env.SFUMATO_TORCH_REF, join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared', 'bench', 'torch_ref.py')];
  return candidates.find((p): p is string => !!p && existsSync(p));
}

/** Run torch_ref.py (Debian's python3-torch) and return its JSON line, or why it could not run. */
export function runTorchRef(script: string, args: string[]): { result?: Record<string, unknown>; error?: string } {
  const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const r = spawnSync(python, [script, ...args], { encoding: 'utf8', timeout: 30 * 60_000 });
  if (r.error) return { error: `could not start ${python}: ${r.error.message}` };
  if (r.status !== 0) {
    const msg = (r.stderr || '').trim().split('\n').slice(-1)[0];
    return { error: `torch_ref.py failed (${msg}); install PyTorch with \`apt-get install -y python3-torch\`` };
  }
  const line = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (!line) return { error: 'torch_ref.py printed no JSON line' };
  return { result: JSON.parse(line) as Record<string, unknown> };
}

export function addBenchCommands(program: Command, json: () => boolean): void {
  const bench = program.command('bench').description('benchmarks (JSON output): samplers, likelihood, train, train-quality, sample');

  bench
    .command('samplers')
    .description('run samplers on an analytic Gaussian-mixture oracle; error vs NFE')
    .requiredOption('--spec <file>', 'bench spec JSON (mixture, schedule, samplers, n, seed, initNoise?)')
    .requiredOption('--out <file>', 'where to write the results JSON')
    .option('--dump <dir>', 'write each sampler\'s start and final states (n x D float32 LE)')
    .option('--svg <file>', 'error-vs-NFE plot (default: OUT with .svg)')
    .action(async (o: { spec: string; out: string; dump?: string; svg?: string }) => {
      const raw = await readSpec(o.spec);
      let spec;
      try {
        spec = validateSamplerBenchSpec(raw);
      } catch (e) {
        asInputError(e);
      }
      let initNoise: Float32Array | undefined;
      if (spec.initNoise) {
        const p = isAbsolute(spec.initNoise) ? spec.initNoise : resolve(dirname(o.spec), spec.initNoise);
        let bytes: Buffer;
        try {
          bytes = await fs.readFile(p);
        } catch (e) {
          throw new BenchInputError('initNoise', `initNoise ${p}: cannot read it (${(e as Error).message}).`);
        }
        try {
          initNoise = leBytesToFloat32(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
        } catch (e) {
          asInputError(e);
        }
      }
      let result;
      try {
        result = await runSamplerBench(spec, {
          initNoise,
          onResult: (r, i) => process.stderr.write(`[bench] ${i + 1}/${spec.samplers.length} ${r.name}: nfe ${r.nfe}, swd ${r.swd.toExponential(3)}, ${r.wallMs.toFixed(0)} ms\n`),
        });
      } catch (e) {
        asInputError(e);
      }
      if (o.dump) {
        await fs.mkdir(o.dump, { recursive: true });
        for (const [name, arr] of result.dumps) await writeFileAtomic(join(o.dump, name), float32ToLeBytes(arr));
      }
      await writeFileAtomic(o.out, JSON.stringify(result.out, null, 2) + '\n');
      const svgFile = o.svg ?? o.out.replace(/\.json$/i, '') + '.svg';
      await writeFileAtomic(svgFile, errorVsNfeSvg(result.out.results));
      const summary = { out: resolve(o.out), svg: resolve(svgFile), results: result.out.results.map((r) => ({ name: r.name, steps: r.steps, nfe: r.nfe, swd: r.swd })) };
      process.stdout.write((json() ? JSON.stringify(summary) : result.out.results.map((r) => `${r.name.padEnd(16)} nfe ${String(r.nfe).padStart(5)}  swd ${r.swd.toExponential(3)}  meanErr ${r.meanErr.toExponential(2)}  stdErr ${r.stdErr.toExponential(2)}`).join('\n')) + '\n');
    });

  bench
    .command('likelihood')
    .description('NLL in bits/dim on an analytic oracle: PF-ODE (Hutchinson), VLB and the exact value')
    .requiredOption('--spec <file>', 'bench spec JSON (mixture, schedule, n, seed, probes?, probeCount?, rtol?, atol?)')
    .action(async (o: { spec: string }) => {
      const raw = await readSpec(o.spec);
      let out;
      try {
        out = await runLikelihoodBench(validateLikelihoodBenchSpec(raw));
      } catch (e) {
        asInputError(e);
      }
      process.stdout.write(
        (json()
          ? JSON.stringify(out)
          : `pf-ode ${out.pfOdeBitsPerDim.toFixed(4)} bits/dim  vlb ${out.vlbBitsPerDim.toFixed(4)}  exact ${out.exactBitsPerDim.toFixed(4)}  nfe ${out.nfe}`) + '\n',
      );
    });

  bench
    .command('train')
    .description('train-step time of the bench UNet vs the PyTorch reference in the same run (JSON lines)')
    .option('--backend <name>', 'training backend (default: the best available)')
    .option('--batch <n>', 'batch size', (v) => Number(v), 16)
    .option('--steps <n>', 'timed steps (after warm-up), ours and the PyTorch reference', (v) => Number(v), 8)
    // Our first ~5 one-graph steps are slower than the rest: onnxruntime-node copies every output
    // into a fresh ArrayBuffer (4 x 17.7 MB of new state a step) and until glibc's malloc and V8's
    // GC settle, those copies fault in new pages and trigger full GCs (docs/design-notes.md
    // §One-graph training step). torch_ref.py's steps are flat after its own 2 warm-up steps.
    .option('--warmup <n>', 'untimed warm-up steps of ours (torch_ref.py always runs 2)', (v) => Number(v), 6)
    .option('--threads <n>', 'threads for the PyTorch reference', (v) => Number(v), 2)
    .option('--profile', 'add per-kernel and per-op-class times of one step')
    .option('--workers <n>', 'wasm/cpu: data-parallel gradient worker threads; onnxruntime: intra-op threads (default: one per physical core)', (v) => Number(v))
    .option('--local-shard', 'with workers: the coordinator computes one shard too (workers - 1 threads + the coordinator)')
    .addOption(new Option('--step-engine <name>', 'onnxruntime: one-graph (default: gradients, Adam and EMA in one ORT graph) or tfjs-optimizer (ORT gradients, Adam in tfjs)').choices(['one-graph', 'tfjs-optimizer']))
    .option('--no-nchwc', 'onnxruntime one-graph on CPU: plain Conv instead of ORT\'s NCHWc kernels (to measure the difference)')
    .option('--no-torch', 'skip the PyTorch reference')
    .option('--torch-ref <file>', 'path of torch_ref.py')
    .option('--rounds <n>', 'alternate ours and the PyTorch reference this many times; the ratio is the median of the rounds (a shared machine drifts between runs)', (v) => Number(v), 1)
    .action(async (o: { backend?: string; batch: number; steps: number; warmup: number; threads: number; profile?: boolean; workers?: number; localShard?: boolean; stepEngine?: 'one-graph' | 'tfjs-optimizer'; nchwc: boolean; torch: boolean; torchRef?: string; rounds: number }) => {
      if (!(Number.isInteger(o.rounds) && o.rounds >= 1 && o.rounds <= 20)) throw new BenchInputError('rounds', `--rounds must be an integer from 1 to 20, got ${o.rounds}`);
      const { selectTrainingBackend, gradientEngineOf } = await import('../training/backends/ladder');
      const { benchTrainStep, medianOf: median } = await import('../training/bench-train');
      const { physicalCores } = await import('../training/parallel/cores');
      const tf = await import('@tensorflow/tfjs');
      tf.enableProdMode();
      const sel = await selectTrainingBackend({ override: o.backend });
      if (o.workers !== undefined && !(Number.isInteger(o.workers) && o.workers >= 1 && o.workers <= 64)) throw new BenchInputError('workers', `--workers must be an integer from 1 to 64, got ${o.workers}`);
      const onOrt = gradientEngineOf(sel.active) === 'onnxruntime';
      const workers = onOrt ? 1 : Math.min(o.batch, o.workers ?? (sel.active === 'wasm' ? physicalCores() : 1));
      process.stderr.write(
        `[bench] training backend ${sel.active} (${sel.provider})${onOrt ? '' : `, ${workers} gradient worker${workers > 1 ? 's' : ''}${o.localShard && workers > 1 ? ' (one shard on the coordinator)' : ''}`}\n`,
      );
      const script = o.torch ? torchRefPath(o.torchRef) : undefined;
      if (script) process.stderr.write(`[bench] PyTorch reference: ${script}\n`);
      const rounds: { ours_s: number; torch_s?: number; ratio?: number }[] = [];
      let line: Record<string, unknown> = {};
      for (let round = 0; round < o.rounds; round++) {
        const ours = await benchTrainStep({
          batch: o.batch,
          steps: o.steps,
          warmup: o.warmup,
          profile: !!o.profile && round === 0,
          workers,
          localShard: !!o.localShard && workers > 1,
          gradients: gradientEngineOf(sel.active),
          threads: onOrt ? o.workers : undefined,
          stepEngine: o.stepEngine,
          nchwc: o.nchwc,
        });
        if (round === 0) line = { bench: 'train', impl: onOrt ? `sfumato-onnxruntime-${ours.step_engine}` : `sfumato-tfjs-${sel.active}`, backend: sel.active, provider: sel.provider, steps: o.steps, warmup: o.warmup, torch_warmup: 2, ...ours };
        const r: (typeof rounds)[number] = { ours_s: ours.train_step_s };
        if (o.torch && !script) line.torch_error = 'torch_ref.py not found (pass --torch-ref or set SFUMATO_TORCH_REF)';
        else if (script) {
          const ref = runTorchRef(script, ['--threads', String(o.threads), '--batch', String(o.batch), '--steps', String(Math.max(o.steps, 3))]);
          if (ref.result) {
            process.stdout.write(JSON.stringify({ bench: 'train', ...ref.result }) + '\n');
            r.torch_s = Number(ref.result.train_step_s);
            r.ratio = r.torch_s / ours.train_step_s;
          } else line.torch_error = ref.error;
        }
        rounds.push(r);
      }
      const ratios = rounds.flatMap((r) => (r.ratio === undefined ? [] : [r.ratio]));
      if (rounds.length > 1) {
        line.rounds = rounds;
        line.train_step_s = median(rounds.map((r) => r.ours_s));
      }
      if (ratios.length) {
        line.torch_train_step_s = median(rounds.flatMap((r) => (r.torch_s === undefined ? [] : [r.torch_s])));
        // the median of per-round ratios: each ratio compares runs made minutes apart
        line.ratio_torch_over_ours = median(ratios);
      }
      process.stdout.write(JSON.stringify(line) + '\n');
    });

  bench
    .command('lora-train')
    .description('LoRA step time vs a full fine-tune of the same model, one-graph ONNX Runtime engine, steps interleaved (JSON line)')
    .addOption(new Option('--model <name>', 'the UNet: emoji-32 (the bundled model\'s architecture) or bench (the bench UNet)').choices(['emoji-32', 'bench']).default('emoji-32'))
    .option('--batch <n>', 'batch size', (v) => Number(v), 16)
    .option('--steps <n>', 'timed steps of each', (v) => Number(v), 6)
    .option('--warmup <n>', 'untimed warm-up steps of each', (v) => Number(v), 2)
    .option('--rank <r>', 'LoRA rank', (v) => Number(v), 8)
    .option('--alpha <a>', 'LoRA alpha (default: the rank)', (v) => Number(v))
    .option('--targets <list>', 'LoRA targets', 'attn,conv')
    .option('--threads <n>', 'ONNX Runtime intra-op threads (default: one per physical core)', (v) => Number(v))
    .action(async (o: { model: 'emoji-32' | 'bench'; batch: number; steps: number; warmup: number; rank: number; alpha?: number; targets: string; threads?: number }) => {
      const { benchLoraStep } = await import('../training/bench-lora');
      const { validateLoraConfig } = await import('../network/lora');
      const { BENCH_UNET_CONFIG } = await import('../network/config');
      const config =
        o.model === 'bench'
          ? { ...BENCH_UNET_CONFIG }
          : { imageSize: 32, inChannels: 3, baseChannels: 32, channelMults: [1, 2, 2], resBlocks: 1, attentionResolutions: [8], groups: 8, dropout: 0, timeInput: 'discrete' as const };
      const lora = validateLoraConfig({ rank: o.rank, alpha: o.alpha, targets: o.targets.split(',') });
      const r = await benchLoraStep({ config, lora, batch: o.batch, steps: o.steps, warmup: o.warmup, threads: o.threads });
      process.stdout.write(JSON.stringify({ bench: 'lora-train', model: o.model, ...r }) + '\n');
    });

  bench
    .command('train-quality')
    .description('train a small model on Fashion-MNIST, then score samples (SWD, kernel MMD, memorisation) beside noise and mean-image baselines')
    .option('--steps <n>', 'training steps', (v) => Number(v), 400)
    .option('--size <px>', 'image size', (v) => Number(v), 16)
    .option('--train-images <n>', 'training images', (v) => Number(v), 2000)
    .option('--eval-images <n>', 'generated and held-out images to compare', (v) => Number(v), 256)
    .option('--sampler-steps <n>', 'DDIM steps', (v) => Number(v), 25)
    .option('--seed <n>', 'seed', (v) => Number(v), 0)
    .option('--backend <name>', 'training backend (default: the best available)')
    .action(async (o: { steps: number; size: number; trainImages: number; evalImages: number; samplerSteps: number; seed: number; backend?: string }) => {
      const { selectTrainingBackend, gradientEngineOf } = await import('../training/backends/ladder');
      const { runQualityBench } = await import('../training/quality/bench');
      const tf = await import('@tensorflow/tfjs');
      tf.enableProdMode();
      const sel = await selectTrainingBackend({ override: o.backend });
      process.stderr.write(`[bench] training backend ${sel.active} (${sel.provider})\n`);
      const r = await runQualityBench({ ...o, gradients: gradientEngineOf(sel.active), onProgress: (m) => process.stderr.write(`[bench] ${m}\n`) });
      process.stdout.write(JSON.stringify(r) + '\n');
    });

  bench
    .command('expectations')
    .description('train the Tiny preset on the demo emoji or on rendered shapes and report at which step shapes and details appear (figures for the Train page)')
    .option('--set <name>', 'demo (models/demo-dataset) or shapes (rendered)', 'demo')
    .option('--demo-dir <dir>', 'the demo dataset folder', join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'models', 'demo-dataset'))
    .option('--size <px>', 'image size', (v) => Number(v), 32)
    .option('--at <list>', 'score the EMA samples after these steps (the last is the run length)', (v) => v.split(',').map(Number), [25, 50, 75, 100, 150, 200, 300, 400])
    .option('--n <n>', 'samples and reference images per score', (v) => Number(v), 64)
    .option('--sampler-steps <n>', 'DDIM steps', (v) => Number(v), 10)
    .option('--seed <n>', 'seed', (v) => Number(v), 0)
    .option('--backend <name>', 'training backend (default: the best available)')
    .action(async (o: { set: string; demoDir: string; size: number; at: number[]; n: number; samplerSteps: number; seed: number; backend?: string }) => {
      if (o.set !== 'demo' && o.set !== 'shapes') throw new BenchInputError('set', `--set must be demo or shapes (got ${JSON.stringify(o.set)}).`);
      if (!o.at.length || o.at.some((s, i) => !Number.isInteger(s) || s < 1 || (i > 0 && s <= o.at[i - 1])))
        throw new BenchInputError('at', `--at must list ascending whole step counts, e.g. 25,50,100 (got ${o.at.join(',')}).`);
      const { selectTrainingBackend, gradientEngineOf } = await import('../training/backends/ladder');
      const { runExpectationsBench } = await import('../training/quality/expectations');
      const tf = await import('@tensorflow/tfjs');
      tf.enableProdMode();
      const sel = await selectTrainingBackend({ override: o.backend });
      process.stderr.write(`[bench] training backend ${sel.active} (${sel.provider})\n`);
      const r = await runExpectationsBench({ ...o, set: o.set, gradients: gradientEngineOf(sel.active), onProgress: (m) => process.stderr.write(`[bench] ${m}\n`) });
      process.stdout.write(JSON.stringify({ ...r, backend: sel.active, date: new Date().toISOString().slice(0, 10) }) + '\n');
    });

  bench
    .command('sample')
    .description('sampling speed of the bench UNet on ONNX Runtime (DDIM, eta 0) vs the PyTorch reference in the same run')
    .option('--provider <name>', 'ONNX Runtime execution provider', 'cpu')
    .option('--batch <n>', 'images per batch', (v) => Number(v), 16)
    .option('--steps <n>', 'UNet evaluations (DDIM steps)', (v) => Number(v), 20)
    .option('--threads <n>', 'threads on both sides', (v) => Number(v), 2)
    .option('--repeats <n>', 'timed repeats (best is reported)', (v) => Number(v), 2)
    .option('--no-torch', 'skip the PyTorch reference')
    .option('--torch-ref <file>', 'path of torch_ref.py')
    .action(async (o: { provider: string; batch: number; steps: number; threads: number; repeats: number; torch: boolean; torchRef?: string }) => {
      const { benchOrtSampling, measureMatmulPeakGflops } = await import('../onnx/bench');
      const peak = await measureMatmulPeakGflops(o.threads);
      const ours = await benchOrtSampling({ provider: o.provider as never, batch: o.batch, steps: o.steps, threads: o.threads, repeats: o.repeats, log: (m) => process.stderr.write(`[bench] ${m}\n`) });
      const line: Record<string, unknown> = { bench: 'sample', ...ours, peak_gflops: peak.gflops, fraction_of_peak: ours.gflops / peak.gflops };
      if (o.torch) {
        const script = torchRefPath(o.torchRef);
        if (!script) line.torch_error = 'torch_ref.py not found (pass --torch-ref or set SFUMATO_TORCH_REF)';
        else {
          const ref = runTorchRef(script, ['--threads', String(o.threads), '--batch', String(o.batch), '--sample-steps', String(o.steps), '--steps', '3']);
          if (ref.result) {
            process.stdout.write(JSON.stringify({ bench: 'sample', ...ref.result }) + '\n');
            const tps = Number(ref.result.sample_img_per_s);
            line.torch_sample_img_per_s = tps;
            line.ratio_ours_over_torch = ours.sample_img_per_s / tps;
          } else line.torch_error = ref.error;
        }
      }
      process.stdout.write(JSON.stringify(line) + '\n');
    });

  bench
    .command('queue')
    .description('sampling jobs through the BullMQ queue (own Redis on loopback): 1 vs 2 workers of 1 thread each; throughput ratio, enqueue-to-start p50/p99')
    .option('--jobs <n>', 'timed sampling jobs per worker count', (v) => Number(v), 8)
    .option('--images <n>', 'images per job', (v) => Number(v), 8)
    .option('--steps <n>', 'DDIM steps', (v) => Number(v), 10)
    .option('--model <id>', 'bundled or imported model to sample', 'emoji-32')
    .action(async (o: { jobs: number; images: number; steps: number; model: string }) => {
      for (const k of ['jobs', 'images', 'steps'] as const) {
        if (!(Number.isInteger(o[k]) && o[k] >= 1 && o[k] <= 1000)) throw new BenchInputError(k, `--${k} must be an integer from 1 to 1000.`);
      }
      const { runQueueBench } = await import('./bench-queue');
      await runQueueBench({ ...o, print: (line) => process.stdout.write(JSON.stringify({ ...line, date: new Date().toISOString().slice(0, 10) }) + '\n') });
    });
}
