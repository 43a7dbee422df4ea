/**
 * A new app version ships other weights under a bundled model's id (the emoji base model was
 * retrained): a library that already holds the earlier version samples with the new weights from
 * then on, and keeps the earlier version's checkpoint and file, so the samples made with it still
 * reproduce identically. Real library, real sampling jobs (DDIM, 2 steps).
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseWeights, serializeWeights } from '../../src-main/network/weights';
import { Sfumato } from '../../src-main/services/sfumato';
import { ROOT, tempDir } from '../helpers/library';

const ID = 'emoji-32';
let lib: ReturnType<typeof tempDir>;
let models: ReturnType<typeof tempDir>;
let s: Sfumato;
const savedEnv = process.env.SFUMATO_MODELS_DIR;

/** Writes this "app version"'s models/ folder: emoji-32 with the given weights file bytes. */
function ship(bytes: Uint8Array, steps: number): string {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'models', 'manifest.json'), 'utf8')) as { models: { id: string; sha256: string; bytes: number; steps: number; trainConfig: { steps: number } }[] };
  const entry = manifest.models.find((m) => m.id === ID)!;
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  writeFileSync(join(models.dir, `${ID}.sfwt`), bytes);
  writeFileSync(join(models.dir, 'manifest.json'), JSON.stringify({ models: [{ ...entry, sha256, bytes: bytes.length, steps, trainConfig: { ...entry.trainConfig, steps } }] }));
  return sha256;
}

beforeAll(async () => {
  lib = tempDir('sfumato-upgrade-');
  models = tempDir('sfumato-models-');
  copyFileSync(join(ROOT, 'models', `${ID}.sfwt`), join(models.dir, `${ID}.sfwt`));
  process.env.SFUMATO_MODELS_DIR = models.dir;
  s = await Sfumato.open({ libraryPath: lib.dir, mode: 'cli' });
});
afterAll(async () => {
  await s?.close();
  if (savedEnv === undefined) delete process.env.SFUMATO_MODELS_DIR;
  else process.env.SFUMATO_MODELS_DIR = savedEnv;
  lib?.cleanup();
  models?.cleanup();
});

describe('a bundled model upgraded by a newer app version', () => {
  it('samples with the new weights, keeps the old checkpoint, and old samples still reproduce', async () => {
    const original = new Uint8Array(readFileSync(join(ROOT, 'models', `${ID}.sfwt`)));
    const oldSha = ship(original, 15750);
    const req = { modelId: ID, count: 1, seed: 7, sampler: 'ddim' as const, steps: 2 };
    const before = (await s.api['sample:generate'](req)).samples[0];
    const oldCk = await s.models.checkpointOf(ID);
    expect(oldCk).toMatchObject({ sha256: oldSha, file: `models/${ID}.sfwt` });

    // the "new version": the same network with its output bias shifted (other weights, same id)
    const parsed = parseWeights(original);
    const tensors = parsed.tensors.map((t) => (t.name === 'cout.bias' ? { ...t, data: Float32Array.from(t.data as Float32Array, (v) => v + 0.2) } : t));
    const newSha = ship(serializeWeights(tensors, parsed.meta), 20000);

    const newCk = await s.models.checkpointOf(ID);
    expect(newCk.id).not.toBe(oldCk.id);
    expect(newCk).toMatchObject({ sha256: newSha, modelId: ID, step: 20000, file: `models/${ID}-${newSha.slice(0, 12)}.sfwt` });
    expect((await s.models.bundledCheckpoint(ID)).id).toBe(newCk.id); // once: a second call copies nothing
    expect(existsSync(s.library.abs(oldCk.file))).toBe(true);
    expect((await s.store.models.get(ID))?.sha256).toBe(newSha);

    const after = (await s.api['sample:generate'](req)).samples[0];
    expect(after.checkpoint).toEqual({ id: newCk.id, sha256: newSha });
    expect(readFileSync(s.library.abs(after.file)).equals(readFileSync(s.library.abs(before.file)))).toBe(false);
    // the sample made before the upgrade names the old checkpoint and reproduces from it
    expect(before.checkpoint).toEqual({ id: oldCk.id, sha256: oldSha });
    expect(await s.reproduction.sample(before.id)).toMatchObject({ identical: true, maxDiff: 0 });
    expect(await s.reproduction.sample(after.id)).toMatchObject({ identical: true, maxDiff: 0 });
  }, 180_000);
});
