/**
 * The Sample page's store (src-renderer/src/stores/sample.ts) against a fake api: which sources it
 * offers, how the form becomes a `sample:generate` request (only the chosen sampler's options),
 * seed modes, inline errors, live previews, and the variation / img2img / interpolation requests.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import { fake } from '../helpers/fake-api';
import { checkpoint, run, sampleRecord, trainConfig } from '../helpers/fixtures';
import { useSampleStore } from '../../../../src-renderer/src/stores/sample';
import type { GenerateRequest } from '../../../../src-main/api/requests';

vi.mock('../../../../src-renderer/src/api', () => import('../helpers/fake-api'));

const flush = () => new Promise<void>((r) => setTimeout(r, 0));

beforeEach(() => {
  fake.reset();
  localStorage.clear();
  setActivePinia(createPinia());
  fake.on('runs:list', () => ({
    runs: [run('run_a', { step: 300 }), run('run_empty')],
  }));
  fake.on('checkpoints:list', () => ({
    checkpoints: [checkpoint('c1', 'run_a', 100, '2026-03-01T10:00:00Z'), checkpoint('c2', 'run_a', 300, '2026-03-02T10:00:00Z')],
  }));
  fake.on('models:list', () => ({ models: [{ id: 'emoji', name: 'Emoji', sha256: 'x', trainConfig: trainConfig({ imageSize: 32 }) }], imported: [] }));
  fake.on('sample:generate', (req) => ({ samples: Array.from({ length: req.count ?? 1 }, (_, i) => sampleRecord(`new${i}`)), cancelled: false }) as never);
});

describe('sample store: sources', () => {
  it('offers bundled models, runs with a checkpoint, and their checkpoints newest first; picks the best available by default', async () => {
    const s = useSampleStore();
    await s.refresh();
    expect(s.sources.map((x) => x.id)).toEqual(['model:emoji', 'run:run_a', 'ckpt:c2', 'ckpt:c1']);
    // a 300-step run is not better than the bundled model (lib/bestSource.ts)
    expect(s.form.source).toBe('model:emoji');
    expect(s.sources.find((x) => x.id === 'run:run_a')?.label).toContain('name of run_a');
  });

  it('defaults to the source of the last generation on this device while it is offered', async () => {
    const s = useSampleStore();
    await s.refresh();
    s.form.source = 'ckpt:c1';
    await s.generate();
    setActivePinia(createPinia());
    const again = useSampleStore();
    await again.refresh();
    expect(again.form.source).toBe('ckpt:c1');
  });

  it('keeps a chosen source that is still offered', async () => {
    const s = useSampleStore();
    s.form.source = 'ckpt:c1';
    await s.refresh();
    expect(s.form.source).toBe('ckpt:c1');
    s.form.source = 'ckpt:gone';
    await s.refresh();
    expect(s.form.source).toBe('model:emoji');
  });
});

describe('sample store: generate', () => {
  it("sends the source, count, seed and only the chosen sampler's options; increment mode advances the seed", async () => {
    const s = useSampleStore();
    await s.refresh();
    Object.assign(s.form, { source: 'ckpt:c1', sampler: 'ddim', steps: 25, seed: 100, seedMode: 'increment', count: 3 });
    s.form.options.eta = 0.5;
    await s.generate();
    expect(s.error).toBeNull();
    const [req] = fake.requests('sample:generate');
    expect(req).toEqual({ checkpointId: 'c1', count: 3, seed: 100, sampler: 'ddim', steps: 25, options: { eta: 0.5, spacing: 'leading' } } satisfies GenerateRequest);
    expect(s.results.map((r) => r.id)).toEqual(['new0', 'new1', 'new2']);
    expect(s.form.seed).toBe(103);
    expect(s.generating).toBe(false);
  });

  it('a class-conditional run offers its classes; the request carries class and guidance, an unconditional model neither', async () => {
    fake.on('runs:list', () => ({ runs: [run('run_a', { step: 300, config: trainConfig({ classConditional: true, condDropout: 0.1, classes: ['cat', 'dog'] }) })] }));
    const s = useSampleStore();
    await s.refresh();
    Object.assign(s.form, { source: 'run:run_a', sampler: 'ddim', steps: 10, seed: 1, seedMode: 'fixed', count: 1 });
    expect(s.sourceClasses).toEqual(['cat', 'dog']);
    s.sampleClass = 'dog';
    s.guidance = 2.5;
    await s.generate();
    expect(fake.requests('sample:generate')[0]).toMatchObject({ runId: 'run_a', class: 'dog', guidance: 2.5 });
    s.form.source = 'model:emoji';
    expect(s.sourceClasses).toEqual([]);
    await s.generate();
    const plain = fake.requests('sample:generate')[1];
    expect(plain).not.toHaveProperty('class');
    expect(plain).not.toHaveProperty('guidance');
  });

  it('a sampler that picks its own steps sends none; fixed mode keeps the seed', async () => {
    const s = useSampleStore();
    await s.refresh();
    Object.assign(s.form, { source: 'model:emoji', sampler: 'pf-ode', steps: 0, seed: 5, seedMode: 'fixed', count: 1 });
    await s.generate();
    const [req] = fake.requests('sample:generate');
    expect(req).toMatchObject({ modelId: 'emoji', sampler: 'pf-ode', options: { rtol: 1e-4, atol: 1e-4 } });
    expect(req).not.toHaveProperty('steps');
    expect(s.form.seed).toBe(5);
  });

  it('says which field is wrong and sends nothing', async () => {
    const s = useSampleStore();
    await s.generate();
    expect(s.error).toMatch(/^Choose a model/);
    await s.refresh();
    s.form.steps = 0;
    await s.generate();
    expect(s.error).toBe('steps: give a whole number from 1 to 1000.');
    s.form.steps = 20;
    s.form.count = 65;
    await s.generate();
    expect(s.error).toBe('Batch size: give a whole number from 1 to 64.');
    s.form.count = 1;
    s.form.seedMode = 'fixed';
    s.form.seed = 2 ** 32;
    await s.generate();
    expect(s.error).toMatch(/^seed: /);
    expect(fake.requests('sample:generate')).toEqual([]);
  });

  it('shows live previews and progress of its own job while generating, and can cancel it', async () => {
    let finish!: () => void;
    fake.on('sample:generate', () => new Promise((r) => (finish = () => r({ jobId: 'job_s', samples: [], cancelled: true }))));
    fake.on('jobs:cancel', () => ({ cancelled: true }) as never);
    const s = useSampleStore();
    await s.refresh();
    const pending = s.generate();
    await flush();
    fake.emit({ jobId: 'job_s', kind: 'sample', state: 'running', done: 3, total: 40, previewImage: 'data:image/png;base64,AA', previewIndex: 2 });
    expect(s.progress).toMatchObject({ done: 3, total: 40 });
    expect(s.previews.get(2)).toBe('data:image/png;base64,AA');
    await s.cancel();
    expect(fake.requests('jobs:cancel')).toEqual([{ id: 'job_s' }]);
    finish();
    await pending;
    expect(s.cancelled).toBe(true);
    expect(s.progress).toBeNull();
  });

  it('the service error is shown and generating ends', async () => {
    fake.on('sample:generate', () => {
      throw new Error('checkpoint runs/run_a/c1.sfwt is missing; train again or pick another.');
    });
    const s = useSampleStore();
    await s.refresh();
    await s.generate();
    expect(s.error).toMatch(/c1\.sfwt is missing/);
    expect(s.generating).toBe(false);
  });
});

describe('sample store: from a result', () => {
  const a = sampleRecord('a', { seed: 11, sampler: 'euler', steps: 30, samplerOptions: { sigmas: 'karras' }, checkpoint: { id: 'c2', sha256: 'x' } });
  const b = sampleRecord('b', { seed: 99 });

  it('variations keep the seed and blend toward a new subseed', async () => {
    const s = useSampleStore();
    await s.variations(a, 0.25);
    const [req] = fake.requests('sample:generate');
    expect(req).toMatchObject({ checkpointId: 'c2', count: 4, seed: 11, sampler: 'euler', steps: 30, options: { sigmas: 'karras' }, parentId: 'a', origin: { kind: 'variation', strength: 0.25 } });
    expect(req.origin).toHaveProperty('subseed', expect.any(Number));
  });

  it('img2img names the source sample; interpolation walks to the other seed', async () => {
    const s = useSampleStore();
    await s.img2img(a, 0.6);
    await s.interpolate(a, b, 8);
    const [i2i, walk] = fake.requests('sample:generate');
    expect(i2i.origin).toEqual({ kind: 'img2img', strength: 0.6, sourceSampleId: 'a' });
    expect(walk).toMatchObject({ count: 8, seed: 11, origin: { kind: 'interpolation', seedB: 99, frames: 8 }, parentId: 'a' });
  });
});
