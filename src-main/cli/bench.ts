/**
 * `sfumato bench …` (and `npm run bench -- …`): measurements that print JSON, never timed unit
 * tests. The sampler and likelihood benches run the diffusion core on analytic oracles.
 */
import { promises as fs } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { Command } from 'commander';
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
import { writeFileAtomic } from '../store/files';

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
}
