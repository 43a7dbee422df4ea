/**
 * LoRA end to end through the service and real jobs (issue 14, item 2): a small base run → a LoRA
 * run from its checkpoint (adapter file beside each checkpoint) → sample with --lora-scale 1 and 0
 * → models merge → sampling the merged model gives the same pixels as scale 1 (same seed), scale 0
 * the base model's; the records name the adapter and reproduce is exact; bad settings are refused
 * before any job.
 */
import { promises as fs } from 'node:fs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sfumato } from '../../src-main/services/sfumato';
import { adapterFileOf, decodeAdapterFile } from '../../src-main/network/lora-file';
import { readSampleMetadata } from '../../src-main/gallery/metadata/read';
import { EMOJI_DIR, tempDir } from '../helpers/library';

let lib: ReturnType<typeof tempDir>;
let s: Sfumato;
let datasetId: string;
const SMALL = { baseChannels: 8, channelMults: [1, 2], attentionResolutions: [8], groups: 4, batchSize: 2, workers: 1, previewEvery: 0, ema: 0.5 };

beforeAll(async () => {
  lib = tempDir('sfumato-lora-');
  s = await Sfumato.open({ libraryPath: lib.dir, mode: 'cli' });
  datasetId = (await s.importDataset({ dir: EMOJI_DIR, imageSize: 16 })).dataset.id;
}, 120_000);
afterAll(async () => {
  await s?.close();
  lib?.cleanup();
});

const pixels = async (rel: string) => sharp(s.library.abs(rel)).raw().toBuffer();

async function train(req: Parameters<Sfumato['startRun']>[0]) {
  const { run, done } = await s.startRun(req);
  await done;
  const detail = (await s.api['runs:get']({ id: run.id })).run;
  expect(detail.status, detail.error ?? '').toBe('completed');
  return detail;
}

describe('LoRA: train → sample with a scale → merge', () => {
  it('merged model = scale 1, scale 0 = the base, records name the adapter, reproduce is exact', async () => {
    const base = await train({ datasetId, seed: 1, config: { ...SMALL, steps: 2, checkpointEvery: 2 } });
    const baseCk = base.checkpoints[base.checkpoints.length - 1];
    const lora = await train({ datasetId, seed: 2, initCheckpointId: baseCk.id, config: { steps: 3, checkpointEvery: 3, batchSize: 2, workers: 1, previewEvery: 0, lr: 2e-2, warmupSteps: 0, ema: 0.5, lora: { rank: 2, alpha: 2, targets: ['attn', 'conv', 'linear'] } } });
    expect(lora.config.lora).toEqual({ rank: 2, alpha: 2, targets: ['attn', 'conv', 'linear'] });
    expect(lora.trainableParams).toBeLessThan(lora.totalParams / 4);
    expect(base.trainableParams).toBe(base.totalParams);
    // the adapter file beside the checkpoint: kohya names, metadata
    const ck = lora.checkpoints[lora.checkpoints.length - 1];
    const adapterRel = adapterFileOf(ck.file);
    const file = decodeAdapterFile(new Uint8Array(await fs.readFile(s.library.abs(adapterRel))), adapterRel);
    expect(file.metadata.ss_network_dim).toBe('2');
    expect(file.baseSha256).toBe(baseCk.sha256);
    expect(file.adapters.some((a) => a.key === 'lora_unet_mida_qkv')).toBe(true);

    const gen = async (req: Record<string, unknown>) => (await s.api['sample:generate']({ count: 1, seed: 7, sampler: 'ddim', steps: 4, engine: 'onnx', ...req })).samples[0];
    const one = await gen({ runId: lora.id, loraScale: 1 });
    const zero = await gen({ runId: lora.id, loraScale: 0 });
    const plainRun = await gen({ runId: lora.id });
    const baseImg = await gen({ checkpointId: baseCk.id });
    expect(one.lora).toMatchObject({ scale: 1, file: adapterRel });
    expect(one.lora!.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(plainRun.lora).toBeUndefined();
    // the PNG carries the adapter: the full record and A1111's "Lora hashes"
    const meta = readSampleMetadata(new Uint8Array(await fs.readFile(s.library.abs(one.file))));
    expect(meta.record?.lora).toEqual(one.lora);
    expect(meta.parametersText).toMatch(new RegExp(`Lora hashes: "?step-\\d+\\.lora: ${one.lora!.sha256.slice(0, 12)}`));
    expect(meta.parametersText).toMatch(/Lora scale: 1\b/);
    expect(Buffer.compare(await pixels(zero.file), await pixels(baseImg.file))).toBe(0);
    expect(Buffer.compare(await pixels(one.file), await pixels(plainRun.file))).toBe(0);
    // the adapter does something at this strength
    expect(Buffer.compare(await pixels(one.file), await pixels(zero.file))).not.toBe(0);

    const merged = (await s.api['models:merge']({ runId: lora.id, scale: 1 })).model;
    expect((await s.api['models:list']({})).imported.map((m) => m.id)).toContain(merged.id);
    const fromMerged = await gen({ modelId: merged.id });
    expect(Buffer.compare(await pixels(fromMerged.file), await pixels(one.file))).toBe(0);

    const again = await s.api['gallery:reproduce']({ id: one.id });
    expect(again.identical).toBe(true);
  }, 600_000);

  it('refuses bad LoRA settings before any job', async () => {
    const start = (config: Record<string, unknown>, init = true) =>
      s.api['runs:start']({ datasetId, seed: 1, ...(init ? { initModelId: 'emoji-32' } : {}), config: { steps: 1, batchSize: 2, ...config } as never });
    await expect(start({ lora: { rank: 0 } })).rejects.toThrow(/rank: must be a positive integer/);
    await expect(start({ lora: { rank: 2, alpha: 0 } })).rejects.toThrow(/alpha/);
    await expect(start({ lora: { rank: 2, targets: ['mlp'] } })).rejects.toThrow(/unknown target "mlp"/);
    await expect(start({ lora: { rank: 2 }, baseChannels: 8, channelMults: [1, 2], attentionResolutions: [], groups: 4 }, false)).rejects.toThrow(/--init-model emoji-32 or --init-checkpoint/);
    const runs = (await s.api['runs:list']({})).runs;
    const plain = runs.find((r) => !r.config.lora && r.status === 'completed')!;
    await expect(s.api['sample:generate']({ runId: plain.id, count: 1, loraScale: 1 })).rejects.toThrow(/not from a LoRA run/);
    await expect(s.api['sample:generate']({ runId: plain.id, count: 1, loraScale: Number.POSITIVE_INFINITY })).rejects.toThrow(/finite/);
  }, 120_000);
});
