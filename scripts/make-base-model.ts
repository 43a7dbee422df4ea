/**
 * Package a trained checkpoint as a bundled base model in models/: the EMA weights only (as the
 * model's weights; no optimiser state), a manifest entry with the training config, data, licence,
 * steps and loss, and a 4x4 sample grid.
 *   npx tsx scripts/make-base-model.ts --checkpoint LIB/runs/run_x/checkpoints/step-N.sfwt \
 *     --id emoji-32 --name "Emoji 32 px" --dataset "…" --licence "…" [--prior-steps N]
 * (--prior-steps: steps of the run(s) the checkpoint's run was fine-tuned from, added to `steps`;
 * class-conditional models get a grid of one row per class, 4 images each at --guidance W)
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { SamplerName, TrainConfig } from '../src-main/api/types';
import { EMA_PREFIX, parseWeights, serializeWeights } from '../src-main/network/weights';
import { contactSheet } from '../src-main/gallery/export';
import { Sfumato } from '../src-main/services/sfumato';

const { values: a } = parseArgs({
  options: {
    checkpoint: { type: 'string' },
    id: { type: 'string' },
    name: { type: 'string' },
    dataset: { type: 'string' },
    licence: { type: 'string' },
    description: { type: 'string' },
    sampler: { type: 'string', default: 'dpmpp-2m' },
    'sampler-steps': { type: 'string', default: '20' },
    // the checkpoint's run fine-tuned an earlier run: its steps count towards the model's total
    'prior-steps': { type: 'string', default: '0' },
    // class-conditional models: the sample grid's guidance scale (one row of 4 per class)
    guidance: { type: 'string', default: '3' },
  },
});
if (!a.checkpoint || !a.id || !a.name) throw new Error('--checkpoint, --id and --name are required');
const root = join(import.meta.dirname, '..');
const models = join(root, 'models');
const parsed = parseWeights(new Uint8Array(readFileSync(a.checkpoint)));
const meta = parsed.meta as Record<string, unknown>;
const ema = parsed.tensors.filter((t) => t.name.startsWith(EMA_PREFIX)).map((t) => ({ ...t, name: t.name.slice(EMA_PREFIX.length) }));
if (!ema.length) throw new Error('the checkpoint has no EMA weights');
const trainConfig = meta.trainConfig as TrainConfig;
const bytes = serializeWeights(ema, { kind: 'sfumato-base-model', config: meta.config, trainConfig, step: meta.step, loss: meta.loss, appVersion: meta.appVersion });
const file = `${a.id}.sfwt`;
writeFileSync(join(models, file), bytes);
const sha256 = createHash('sha256').update(bytes).digest('hex');
const entry = {
  id: a.id,
  name: a.name,
  file,
  sha256,
  bytes: bytes.length,
  description: a.description ?? '',
  licence: a.licence ?? '',
  data: a.dataset ?? '',
  steps: Number(meta.step) + Number(a['prior-steps']),
  loss: meta.loss,
  trainConfig,
  // the sampler that shows this model best (first run); the grid below uses it
  sampler: { name: a.sampler as SamplerName, steps: Number(a['sampler-steps']) },
  sampleGrid: `${a.id}-samples.png`,
};
let manifest: { models: (typeof entry)[] } = { models: [] };
try {
  manifest = JSON.parse(readFileSync(join(models, 'manifest.json'), 'utf8'));
} catch {
  // first model
}
manifest.models = [...manifest.models.filter((m) => m.id !== a.id), entry];
writeFileSync(join(models, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');

// A 4x4 grid sampled from the packaged file through the app's own path.
const lib = mkdtempSync(join(tmpdir(), 'sfumato-base-'));
const s = await Sfumato.open({ libraryPath: lib, mode: 'cli' });
try {
  const classes = trainConfig.classConditional ? (trainConfig.classes ?? []) : [];
  const records = [];
  if (classes.length) {
    for (const [i, name] of classes.entries()) {
      const r = await s.generate({ modelId: a.id, count: 4, seed: 100 * i, sampler: entry.sampler.name, steps: entry.sampler.steps, class: name, guidance: Number(a.guidance) });
      records.push(...r.samples);
    }
  } else {
    records.push(...(await s.generate({ modelId: a.id, count: 16, seed: 0, sampler: entry.sampler.name, steps: entry.sampler.steps })).samples);
  }
  const png = await contactSheet(records.map((record) => ({ record, absFile: s.library.abs(record.file) })), { columns: 4, cellSize: 96, captions: false, gap: 4, background: '#16171b' });
  writeFileSync(join(models, entry.sampleGrid), png);
} finally {
  await s.close();
  rmSync(lib, { recursive: true, force: true });
}
console.log(JSON.stringify({ ...entry, trainConfig: undefined }));
