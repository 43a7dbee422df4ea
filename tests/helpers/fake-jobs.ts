/**
 * A fake JobLauncher for service unit tests: no child process, jobs run in this process as small
 * scripts that post the same messages a real job would. The default sample job writes a real PNG
 * per image whose colour follows its seed (so reproduce can compare pixels); the default training
 * job writes one checkpoint file per `checkpointEvery` steps.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import type { SampleRecord } from '../../src-main/api/types';
import type { JobLauncher, JobProcess } from '../../src-main/jobs/launcher';
import type { ExportJobSpec, FromJob, JobSpec, LikelihoodJobSpec, SampleJobSpec, TrainJobSpec } from '../../src-main/jobs/protocol';
import { Sfumato } from '../../src-main/services/sfumato';
import { tempDir } from './library';

type Post = (m: FromJob) => void;
export type FakeHandler<S> = (spec: S, post: Post, signal: AbortSignal) => Promise<void>;

export interface FakeJobs {
  launcher: JobLauncher;
  /** every spec a job was started with, in order */
  specs: JobSpec[];
}

let nextPid = 900_000;

export function fakeLauncher(
  handlers: { train?: FakeHandler<TrainJobSpec>; sample?: FakeHandler<SampleJobSpec>; export?: FakeHandler<ExportJobSpec>; likelihood?: FakeHandler<LikelihoodJobSpec> } = {},
): FakeJobs {
  const specs: JobSpec[] = [];
  const launcher: JobLauncher = () => {
    let onMsg: (m: FromJob) => void = () => undefined;
    let onExit: (code: number | null, signal: string | null) => void = () => undefined;
    const abort = new AbortController();
    let ended = false;
    const end = (code: number | null, signal: string | null) => {
      if (ended) return;
      ended = true;
      setImmediate(() => onExit(code, signal));
    };
    const post: Post = (m) => {
      if (!ended) setImmediate(() => onMsg(m));
    };
    const proc: JobProcess = {
      pid: nextPid++,
      send(msg) {
        if (msg.type === 'cancel') abort.abort();
        if (msg.type !== 'start') return;
        specs.push(msg.spec);
        const k = msg.spec.kind;
        const h = (k === 'train' ? (handlers.train ?? fakeTrain) : k === 'sample' ? (handlers.sample ?? fakeSample) : k === 'likelihood' ? (handlers.likelihood ?? fakeLikelihood) : (handlers.export ?? fakeExport)) as FakeHandler<JobSpec>;
        void (async () => {
          try {
            post({ type: 'started', backend: 'fake', unavailable: {} });
            await h(msg.spec, post, abort.signal);
            post({ type: 'done', cancelled: abort.signal.aborted });
            setImmediate(() => end(0, null));
          } catch (e) {
            post({ type: 'error', error: { code: 'internal', message: (e as Error).message } });
            setImmediate(() => end(1, null));
          }
        })();
      },
      onMessage: (cb) => void (onMsg = cb),
      onExit: (cb) => void (onExit = cb),
      kill: (signal = 'SIGTERM') => end(null, signal),
    };
    return proc;
  };
  return { launcher, specs };
}

/** Training: progress every step, a checkpoint file at every checkpointEvery steps and at the end. */
export const fakeTrain: FakeHandler<TrainJobSpec> = async (spec, post, signal) => {
  if (spec.estimateSteps) {
    post({ type: 'estimate', secondsPerStep: 0.5, steps: spec.estimateSteps });
    return;
  }
  mkdirSync(spec.checkpointDir, { recursive: true });
  for (let step = 1; step <= spec.config.steps && !signal.aborted; step++) {
    post({ type: 'train-progress', step, total: spec.config.steps, losses: [{ step, loss: 1 / step }], stepsPerSec: 10, lr: spec.config.lr, gradNorm: 1 });
    if (step % spec.config.checkpointEvery === 0 || step === spec.config.steps) {
      const bytes = Buffer.from(`weights of ${spec.runId} at ${step}`);
      const name = `step-${String(step).padStart(8, '0')}.sfwt`;
      writeFileSync(join(spec.checkpointDir, name), bytes);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      post({ type: 'checkpoint', step, file: `${spec.checkpointDirRel}/${name}`, sha256, weightsDigest: sha256.slice(0, 16), loss: 1 / step });
    }
    await new Promise((r) => setImmediate(r));
  }
};

/** Sampling: one PNG per seed, its colour a function of seed and origin (deterministic, like the real job). */
export const fakeSample: FakeHandler<SampleJobSpec> = async (spec, post) => {
  mkdirSync(spec.outDir, { recursive: true });
  const size = spec.config.imageSize;
  for (let i = 0; i < spec.seeds.length; i++) {
    const seed = spec.seeds[i];
    const o = spec.origins?.[i] ?? { kind: 'seed' as const };
    const shade = (seed * 37 + (o.kind === 'variation' ? o.subseed * 11 : 0)) % 256;
    const file = join(spec.outDir, `${spec.names[i]}.png`);
    await sharp({ create: { width: size, height: size, channels: 3, background: { r: shade, g: 255 - shade, b: 128 } } })
      .png()
      .toFile(file);
    const record: SampleRecord = { ...spec.record, id: spec.names[i], file: `${spec.outDirRel}/${spec.names[i]}.png`, seed, steps: spec.steps ?? 0, nfe: spec.steps ?? 0, origin: o, backend: 'fake', createdAt: new Date().toISOString() };
    post({ type: 'sample-progress', done: (i + 1) * (spec.steps ?? 1), total: spec.seeds.length * (spec.steps ?? 1) });
    post({ type: 'sample', index: i, record });
  }
};

/** Export: claims the files were written (nothing is). */
export const fakeExport: FakeHandler<ExportJobSpec> = async (spec, post) => {
  post({ type: 'export-progress', done: spec.samples.length, total: spec.samples.length });
  post({ type: 'export-done', result: { path: spec.to, count: spec.samples.length, files: spec.samples.map((s) => `${s.record.id}.${spec.format}`) } });
};

/** Likelihood: each image's bits/dim is its mean byte / 32 (so images can be ranked by brightness). */
export const fakeLikelihood: FakeHandler<LikelihoodJobSpec> = async (spec, post) => {
  const per = 3 * spec.config.imageSize * spec.config.imageSize;
  const n = spec.pixels.length / per;
  const perImage = Array.from({ length: n }, (_, i) => spec.pixels.subarray(i * per, (i + 1) * per).reduce((a, b) => a + b, 0) / per / 32);
  const mean = perImage.reduce((a, b) => a + b, 0) / n;
  const methods = spec.method === 'both' ? (['pf-ode', 'vlb'] as const) : [spec.method];
  post({ type: 'likelihood-progress', fraction: 0.5 });
  post({
    type: 'likelihood-done',
    result: { estimates: methods.map((method) => ({ method, bitsPerDim: mean, stdErr: 0.1, nfe: 1, data: method === 'vlb' ? ('discrete' as const) : ('dequantised' as const), perImage })), backend: 'fake', wallSeconds: 0 },
  });
};

/** A service on a fresh temp library with fake jobs; `close` ends both. */
export async function fakeService(handlers: Parameters<typeof fakeLauncher>[0] = {}): Promise<{ s: Sfumato; jobs: FakeJobs; dir: string; close: () => Promise<void> }> {
  const lib = tempDir('sfumato-svc-');
  const jobs = fakeLauncher(handlers);
  const s = await Sfumato.open({ libraryPath: lib.dir, mode: 'cli', launcher: jobs.launcher });
  return {
    s,
    jobs,
    dir: lib.dir,
    close: async () => {
      await s.close();
      lib.cleanup();
    },
  };
}
