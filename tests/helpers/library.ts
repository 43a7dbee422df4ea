/** Shared helpers for integration tests: temp libraries, the fixture folder, tiny configs. */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TrainConfig } from '../../src-main/api/types';

export const ROOT = join(import.meta.dirname, '..', '..');
export const EMOJI_DIR = join(ROOT, 'tests', 'fixtures', 'images', 'emoji');
export const CLI = join(ROOT, 'bin', 'sfumato.mjs');

/** A tiny UNet that trains a step in well under a second on the cpu backend (16 px, width 8). */
export const TINY_CONFIG: Partial<TrainConfig> = {
  baseChannels: 8,
  channelMults: [1, 2],
  resBlocks: 1,
  attentionResolutions: [8],
  groups: 4,
  batchSize: 4,
};

export function tempDir(prefix = 'sfumato-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

const execFileP = promisify(execFile);

/** Runs the real CLI (bin/sfumato.mjs) on the library at `dataDir`; a non-zero exit is a result, not a throw. */
export async function runCli(dataDir: string, args: string[]): Promise<CliResult> {
  try {
    const r = await execFileP(process.execPath, [CLI, '--data-dir', dataDir, ...args], { maxBuffer: 1 << 24 });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, out: x.stdout, err: x.stderr };
  }
}
