/**
 * Generating images: `sfumato sample` (from a run, checkpoint or model), `img2img`, `variations`
 * and `interpolate`. Every one goes through the `sample:generate` channel, so its limits (count,
 * steps, seed, sampler settings) are the app's.
 */
import { Option, type Command } from 'commander';
import { addSamplerOptionFlags, samplerOptionsFrom } from '../sampler-flags';
import type { SamplerName, SamplerOptions } from '../../api/types';
import { SAMPLER_NAMES } from '../../diffusion/samplers/index';
import type { Sfumato } from '../../services/sfumato';
import { call, printSamples, type CliContext } from '../context';
import { parseIntStrict, parseNum, UsageError } from '../parse';
import * as grid from './grid';
import type { SamplingPresetBody } from '../../api/presets';
import { savedPreset } from './presets';

// ---------------------------------------------------------------- the sampler flags, in one place


/** --sampler, --steps and every sampler setting. */
function addSamplerFlags(cmd: Command): Command {
  cmd
    .addOption(new Option('--sampler <name>', 'sampler').choices([...SAMPLER_NAMES]).default('ddim'))
    .option('--steps <n>', 'sampler steps', parseIntStrict('steps'), 20);
  // one flag per recipe option of the sampler descriptors (cli/sampler-flags.ts)
  return addSamplerOptionFlags(cmd, { num: parseNum, int: parseIntStrict });
}

/** The sampler, its steps and settings from the flags of addSamplerFlags. */
function samplerFromFlags(o: Record<string, unknown>): { sampler: SamplerName; steps: number; options: SamplerOptions } {
  return { sampler: o.sampler as SamplerName, steps: o.steps as number, options: samplerOptionsFrom(o) };
}

/**
 * A sampling preset under the flags: a flag typed on the command line wins, the preset fills the
 * rest, and the flags' defaults only what neither gives. The preset's sampler options are kept
 * unless the preset's sampler is overridden (then they may not fit the new sampler).
 */
function withPreset<F extends { sampler: SamplerName; steps: number; options: SamplerOptions; count: number; seed?: number; engine: string }>(
  p: SamplingPresetBody,
  flags: F,
  given: (key: string) => boolean,
): F {
  const pick = <K extends 'sampler' | 'steps' | 'count' | 'seed' | 'engine'>(k: K): F[K] => (given(k) || p[k] === undefined ? flags[k] : (p[k] as F[K]));
  const sampler = pick('sampler');
  const presetOptions = sampler === p.sampler || p.sampler === undefined ? (p.options ?? {}) : {};
  return { ...flags, sampler, steps: pick('steps'), count: pick('count'), seed: pick('seed'), engine: pick('engine'), options: { ...presetOptions, ...flags.options } };
}

// ---------------------------------------------------------------- commands

const fromSample = async (s: Sfumato, id: string) => (await s.api['gallery:get']({ id })).sample;

export function register(program: Command, ctx: CliContext): void {
  const sample = addSamplerFlags(
    program
      .command('sample')
      .description('generate images from a run (its latest checkpoint) or a checkpoint')
      .option('--run <id>', 'run id (its latest checkpoint, EMA weights)')
      .option('--checkpoint <id>', 'checkpoint id')
      .option('--model <id>', 'a bundled base model or an imported ONNX model (model_…)')
      .addOption(new Option('--engine <name>', 'network engine').choices(['auto', 'onnx', 'tfjs']).default('auto'))
      .addOption(new Option('--provider <name>', 'ONNX Runtime execution provider (auto probes the GPU ones, then CPU)').choices(['auto', 'webgpu', 'cuda', 'dml', 'coreml', 'cpu']))
      .option('--count <n>', 'number of images', parseIntStrict('count'), 4)
      .option('--seed <n>', 'seed of the first image (the others use seed+1, seed+2, …)', parseIntStrict('seed'))
      .option('--preset <name>', 'a saved sampling preset of the library (sampler, steps, settings, count); flags given override it')
      .option('--class <name>', 'class-conditional models: the class to sample (default: unconditional)')
      .option('--guidance <w>', 'class-conditional models: classifier-free guidance scale W ≥ 0 (1 = plain conditional, 0 = unconditional, 2–5 = stronger class likeness; default 1)', parseNum('guidance'))
      .option('--lora-scale <s>', "apply the LoRA run's adapter (or --lora FILE) at this strength (1 = as trained, 0 = the base model)", parseNum('lora-scale'))
      .option('--lora <file.safetensors>', 'a LoRA adapter file of Sfumato to apply (strength --lora-scale, default 1)'),
  ).action((o: Record<string, unknown>, cmd: Command) =>
    ctx.withService(async (s, out) => {
      if (!o.run && !o.checkpoint && !o.model) throw new UsageError('say what to sample from: --run <id>, --checkpoint <id> or --model <id>');
      const flags = {
        engine: o.engine as 'auto' | 'onnx' | 'tfjs',
        ...(o.provider ? { provider: o.provider as 'auto' | 'webgpu' | 'cuda' | 'dml' | 'coreml' | 'cpu' } : {}),
        count: o.count as number,
        seed: o.seed as number | undefined,
        ...samplerFromFlags(o),
      };
      const preset = o.preset ? await savedPreset(s, out, 'sampling', String(o.preset)) : undefined;
      const r = await call(s, out, 'sample:generate', {
        runId: o.run as string | undefined,
        checkpointId: o.checkpoint as string | undefined,
        modelId: o.model as string | undefined,
        ...(o.lora !== undefined ? { lora: String(o.lora) } : {}),
        ...(o.loraScale !== undefined ? { loraScale: o.loraScale as number } : {}),
        ...(preset ? withPreset(preset, flags, (key) => cmd.getOptionValueSource(key) === 'cli') : flags),
        ...(o.class !== undefined ? { class: String(o.class) } : {}),
        ...(o.guidance !== undefined ? { guidance: o.guidance as number } : {}),
      });
      return printSamples(out, r);
    }),
  );
  grid.register(sample, ctx);

  program
    .command('img2img')
    .description('image-to-image (SDEdit): re-noise a gallery sample or dataset image part-way and denoise it')
    .option('--from-sample <id>', 'a gallery sample')
    .option('--from-item <id>', 'a dataset item')
    .option('--run <id>', 'model: a run (its latest checkpoint); default: the source sample\'s checkpoint')
    .option('--checkpoint <id>', 'model: a checkpoint')
    .option('--strength <x>', 'share of the schedule to re-noise (0..1]', parseNum('strength'), 0.5)
    .option('--count <n>', 'number of images', parseIntStrict('count'), 4)
    .option('--seed <n>', 'seed of the first image', parseIntStrict('seed'))
    .addOption(new Option('--sampler <name>', 'sampler').choices([...SAMPLER_NAMES]).default('ddim'))
    .option('--steps <n>', 'steps of the full schedule (strength x steps are run)', parseIntStrict('steps'), 20)
    .action((o: { fromSample?: string; fromItem?: string; run?: string; checkpoint?: string; strength: number; count: number; seed?: number; sampler: SamplerName; steps: number }) =>
      ctx.withService(async (s, out) => {
        if (!o.fromSample === !o.fromItem) throw new UsageError('give exactly one source: --from-sample <id> or --from-item <id>');
        let checkpointId = o.checkpoint;
        if (!checkpointId && !o.run) {
          if (!o.fromSample) throw new UsageError('say which model to use: --run <id> or --checkpoint <id>');
          checkpointId = (await fromSample(s, o.fromSample)).checkpoint.id;
        }
        const r = await call(s, out, 'sample:generate', {
          runId: o.run,
          checkpointId,
          count: o.count,
          seed: o.seed,
          sampler: o.sampler,
          steps: o.steps,
          origin: { kind: 'img2img', strength: o.strength, sourceSampleId: o.fromSample, sourceDatasetItemId: o.fromItem },
        });
        return printSamples(out, r);
      }),
    );

  program
    .command('variations <sample>')
    .description('variations of a gallery sample: its seed blended toward nearby subseeds (A1111 variation seeds)')
    .option('--count <n>', 'how many', parseIntStrict('count'), 4)
    .option('--strength <x>', 'how far from the original (0..1)', parseNum('strength'), 0.25)
    .option('--subseed <n>', 'first subseed (default: the sample seed + 1)', parseIntStrict('subseed'))
    .action((id: string, o: { count: number; strength: number; subseed?: number }) =>
      ctx.withService(async (s, out) => {
        const p = await fromSample(s, id);
        const r = await call(s, out, 'sample:generate', {
          checkpointId: p.checkpoint.id,
          count: o.count,
          seed: p.seed,
          sampler: p.sampler,
          steps: p.steps,
          options: p.samplerOptions,
          origin: { kind: 'variation', subseed: o.subseed ?? p.seed + 1, strength: o.strength },
          parentId: p.id,
        });
        return printSamples(out, r);
      }),
    );

  program
    .command('interpolate <sampleA> <sampleB>')
    .description('walk between two gallery samples\' starting noise (spherical interpolation), N frames')
    .option('--frames <n>', 'frames including both ends', parseIntStrict('frames'), 8)
    .option('--strip <file.png>', 'also write the frames as one horizontal strip')
    .action((a: string, b: string, o: { frames: number; strip?: string }) =>
      ctx.withService(async (s, out) => {
        const pa = await fromSample(s, a);
        const pb = await fromSample(s, b);
        if (pa.checkpoint.sha256 !== pb.checkpoint.sha256) throw new UsageError('both samples must come from the same checkpoint');
        const r = await call(s, out, 'sample:generate', {
          checkpointId: pa.checkpoint.id,
          count: o.frames,
          seed: pa.seed,
          sampler: pa.sampler,
          steps: pa.steps,
          options: pa.samplerOptions,
          origin: { kind: 'interpolation', seedB: pb.seed, frames: o.frames },
          parentId: pa.id,
        });
        if (o.strip && r.samples.length) {
          const { interpolationStrip } = await import('../../gallery/export');
          const { default: sharp } = await import('sharp');
          const frames = await Promise.all(
            r.samples.map(async (x) => {
              const buf = await sharp(s.library.abs(x.file)).removeAlpha().raw().toBuffer();
              return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
            }),
          );
          const png = await interpolationStrip(frames, pa.width, pa.height, { scale: 4 });
          const { writeFileAtomic } = await import('../../db/files');
          await writeFileAtomic(o.strip, png);
          out.info(`strip written to ${o.strip}`);
        }
        return printSamples(out, r);
      }),
    );
}
