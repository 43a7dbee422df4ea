/**
 * The one help table of the training settings (src-main/api/train-help.ts): every setting of the
 * run configuration has a plain label and one line of help, so a new TrainConfig field without
 * help fails here; and `sfumato train --help` reads the same table.
 */
import { describe, expect, it } from 'vitest';
import { Command } from 'commander';
import { TRAIN_HELP, helpLine } from '../../../src-main/api/train-help';
import { DEFAULT_TRAIN_CONFIG } from '../../../src-main/training/config';
import { register } from '../../../src-main/cli/commands/train';
import type { CliContext } from '../../../src-main/cli/context';

describe('training settings help table', () => {
  const keys = Object.keys(DEFAULT_TRAIN_CONFIG);

  it('has a label, a help line and a technical name for every TrainConfig setting', () => {
    const missing = keys.filter((k) => !(k in TRAIN_HELP));
    expect(missing).toEqual([]);
    for (const k of keys) {
      const h = TRAIN_HELP[k as keyof typeof TRAIN_HELP];
      expect(h.label.trim(), k).not.toBe('');
      expect(h.help.trim(), k).not.toBe('');
      expect(h.term.trim(), k).not.toBe('');
    }
  });

  it('labels are words, not the raw camelCase keys', () => {
    for (const [k, h] of Object.entries(TRAIN_HELP)) {
      expect(h.label, k).not.toBe(k);
      expect(h.label, k).not.toMatch(/^[a-z]+[A-Z][A-Za-z]*$/);
    }
  });

  it('each help is one short sentence-like line that ends with a full stop', () => {
    for (const [k, h] of Object.entries(TRAIN_HELP)) {
      expect(h.help, k).not.toMatch(/\n/);
      expect(h.help.length, k).toBeLessThanOrEqual(130);
      expect(h.help, k).toMatch(/\.$/);
    }
  });

  it('helpLine puts the technical name after the plain text', () => {
    expect(helpLine('lr')).toBe(`${TRAIN_HELP.lr.help} (learning rate (lr))`);
  });

  it('`sfumato train --help` shows the table’s help for the training flags', () => {
    const program = new Command();
    register(program, {} as CliContext);
    const train = program.commands.find((c) => c.name() === 'train')!;
    const desc = (flag: string) => train.options.find((o) => o.long === flag)?.description ?? '';
    expect(desc('--lr')).toContain(TRAIN_HELP.lr.help);
    expect(desc('--lr')).toContain('5e-5 when fine-tuning');
    expect(desc('--ema')).toContain(TRAIN_HELP.ema.help);
    expect(desc('--batch')).toContain(TRAIN_HELP.batchSize.help);
  });
});
