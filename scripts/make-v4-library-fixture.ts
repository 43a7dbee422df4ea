/**
 * Writes tests/fixtures/libraries/v4: a small library made by the code of schema 4 (bundled and
 * imported ONNX models stored as fake training runs), used by tests/unit/db/models-migration
 * to check that the models migration keeps every gallery sample reproducible.
 *
 * Contents: a tiny trained run (its checkpoint, cache and thumbnails dropped to stay small), a
 * sample of that run, the run exported to ONNX and imported as a model with one sample, and one
 * sample of the bundled emoji-32 model (the 4 MB model copy is dropped: the test copies it back
 * from models/emoji-32.sfwt, the same bytes).
 *
 *   npx tsx scripts/make-v4-library-fixture.ts
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { exportUNetToOnnx } from '../src-main/onnx/export';
import { configOfWeights, parseWeights } from '../src-main/network/weights';
import { Sfumato } from '../src-main/services/sfumato';

const ROOT = join(import.meta.dirname, '..');
const OUT = join(ROOT, 'tests', 'fixtures', 'libraries', 'v4');

async function main(): Promise<void> {
  await fs.rm(OUT, { recursive: true, force: true });
  const s = await Sfumato.open({ libraryPath: OUT, mode: 'cli' });
  const ds = await s.api['datasets:import']({ dir: join(ROOT, 'tests', 'fixtures', 'images', 'emoji'), imageSize: 8 });
  const { done } = await s.startRun({ datasetId: ds.dataset.id, seed: 3, config: { baseChannels: 8, channelMults: [1], attentionResolutions: [], groups: 4, batchSize: 4, steps: 2, workers: 1 } });
  const run = await done;
  const ck = (await s.store.checkpoints.latest(run.id))!;
  await s.api['sample:generate']({ runId: run.id, count: 1, seed: 5, steps: 4 });
  const parsed = parseWeights(new Uint8Array(await fs.readFile(s.library.abs(ck.file))));
  const onnx = join(OUT, 'import-me.onnx');
  await fs.writeFile(onnx, exportUNetToOnnx({ config: configOfWeights(parsed), tensors: parsed.tensors }, { prediction: 'eps', schedule: { kind: 'discrete', beta: 'linear', trainSteps: 1000 }, appVersion: 'fixture' }));
  const { model } = await s.api['models:import']({ file: onnx, prediction: 'eps', schedule: 'linear', name: 'fixture-onnx' });
  await s.api['sample:generate']({ modelId: model.id, count: 1, seed: 7, steps: 4 });
  await s.api['sample:generate']({ modelId: 'emoji-32', count: 1, seed: 9, steps: 3 });
  await s.close();
  // small: no run checkpoint, no dataset cache or thumbnails, no bundled model copy, no WAL
  await fs.rm(onnx);
  await fs.rm(join(OUT, 'runs'), { recursive: true, force: true });
  await fs.rm(join(OUT, 'datasets'), { recursive: true, force: true });
  await fs.rm(join(OUT, 'models', 'emoji-32.sfwt'));
  await fs.rm(join(OUT, 'tmp'), { recursive: true, force: true });
  const sqlite3 = (await import('sqlite3')).default;
  const db = new sqlite3.Database(join(OUT, 'sfumato.db'));
  await new Promise<void>((ok, fail) => db.exec('PRAGMA journal_mode = DELETE; VACUUM;', (e) => (e ? fail(e) : db.close(() => ok()))));
}

await main();
