/**
 * Bundled base models (models/manifest.json): starting points for fine-tuning and for first
 * samples after install. Each entry names its weights file, sha256, training config and licence.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiError } from '../api/errors';
import type { SamplerName, SamplerOptions, TrainConfig } from '../api/types';

export interface BundledModelEntry {
  id: string;
  name: string;
  file: string;
  sha256: string;
  trainConfig: TrainConfig;
  sampler?: { name: SamplerName; steps: number; options?: SamplerOptions };
  description?: string;
  licence?: string;
}

/** models/ of this checkout (src-main/services/ -> ../../models), or SFUMATO_MODELS_DIR. */
export function modelsDir(): string {
  return process.env.SFUMATO_MODELS_DIR
    ? resolve(process.env.SFUMATO_MODELS_DIR)
    : join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'models');
}

export async function listBundledModels(): Promise<BundledModelEntry[]> {
  const dir = modelsDir();
  let raw: string;
  try {
    raw = await fs.readFile(join(dir, 'manifest.json'), 'utf8');
  } catch {
    return [];
  }
  const manifest = JSON.parse(raw) as { models?: BundledModelEntry[] };
  return (manifest.models ?? []).map((m) => ({ ...m, file: join(dir, m.file) }));
}

/** A bundled model by id, with its file checked against the manifest's sha256. */
export async function findBundledModel(id: string): Promise<BundledModelEntry> {
  const all = await listBundledModels();
  const m = all.find((x) => x.id === id);
  if (!m) {
    throw new ApiError('not_found', `No bundled model ${id}. Bundled models: ${all.map((x) => x.id).join(', ') || 'none'}.`);
  }
  const bytes = await fs.readFile(m.file).catch(() => {
    throw new ApiError('not_found', `The bundled model file ${m.file} is missing; reinstall Sfumato.`);
  });
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== m.sha256) throw new ApiError('internal', `The bundled model ${id} is damaged (sha256 ${sha} ≠ ${m.sha256}); reinstall Sfumato.`);
  return m;
}

/** models/demo-dataset: a small openly licensed image folder for first runs (see its NOTICE). */
export async function demoDatasetDir(): Promise<string | null> {
  const dir = join(modelsDir(), 'demo-dataset');
  try {
    return (await fs.stat(dir)).isDirectory() ? dir : null;
  } catch {
    return null;
  }
}
