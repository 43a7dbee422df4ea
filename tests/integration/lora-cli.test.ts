/**
 * `sfumato train --lora-*` and `sample --lora-scale`: bad values exit 2 with a message naming the
 * setting and the fix, before any job starts (no run is recorded).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sfumato } from '../../src-main/services/sfumato';
import { EMOJI_DIR, tempDir, runCli } from '../helpers/library';

let lib: ReturnType<typeof tempDir>;
let datasetId: string;

const sfumato = (args: string[]) => runCli(lib.dir, args);

beforeAll(async () => {
  lib = tempDir('sfumato-lora-cli-');
  const s = await Sfumato.open({ libraryPath: lib.dir, mode: 'cli' });
  try {
    datasetId = (await s.importDataset({ dir: EMOJI_DIR, imageSize: 32 })).dataset.id;
  } finally {
    await s.close();
  }
}, 120_000);
afterAll(() => lib.cleanup());

describe('sfumato LoRA flags', () => {
  it('refuses bad --lora-* values and LoRA without a model, exit 2, before any run exists', async () => {
    const train = (...extra: string[]) => sfumato(['train', '--dataset', datasetId, '--steps', '1', '--batch', '2', ...extra]);
    const cases: [string[], RegExp][] = [
      [['--init-model', 'emoji-32', '--lora-rank', '0'], /LoRA: rank: must be a positive integer \(e.g. --lora-rank 8\), got 0/],
      [['--init-model', 'emoji-32', '--lora-rank', '4', '--lora-alpha', '0'], /alpha: must be a finite number > 0/],
      [['--init-model', 'emoji-32', '--lora-rank', '4', '--lora-targets', 'attn,mlp'], /unknown target "mlp"/],
      [['--init-model', 'emoji-32', '--lora-rank', '65', '--lora-targets', 'attn'], /65 is more than min\(in, out\) = 64 of [\w.]+\.(qkv|proj) .*--lora-rank ≤ 64/],
      [['--init-model', 'emoji-32', '--lora-alpha', '4'], /need --lora-rank/],
      [['--lora-rank', '4'], /--init-model emoji-32 or --init-checkpoint/],
    ];
    for (const [args, re] of cases) {
      const r = await train(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err, args.join(' ')).toMatch(re);
    }
    const runs = await sfumato(['--json', 'runs', 'list']);
    expect(JSON.parse(runs.out.trim()).runs).toEqual([]);
  }, 300_000);

  it('sample --lora-scale on a model without an adapter says what to do', async () => {
    const r = await sfumato(['sample', '--model', 'emoji-32', '--count', '1', '--lora-scale', '0.5']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/not from a LoRA run .*--lora FILE/);
  }, 120_000);
});
