/**
 * Execution providers through the `sfumato` command, on a fresh library: `info --json` lists every
 * provider for training and sampling; a provider made to fail by the test hook is skipped and the
 * run starts on the next one, recording why (its backend and backendNote, and the job's log);
 * `--provider webgpu` trains and samples on WebGPU (SwiftShader here: see tests/unit/onnx/webgpu.test.ts);
 * a forced provider that cannot run and a provider paired with a non-ORT backend are clear errors.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, EMOJI_DIR, tempDir } from '../helpers/library';

const run = promisify(execFile);
const ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const SWIFTSHADER: NodeJS.ProcessEnv = { VK_ICD_FILENAMES: ICD, LD_LIBRARY_PATH: ['/usr/lib/chromium', process.env.LD_LIBRARY_PATH].filter(Boolean).join(':') };
const TINY = ['--image-size', '8', '--batch', '2', '--base-channels', '8', '--channel-mults', '1,2', '--attention', '4', '--groups', '4', '--seed', '3'];

let lib: ReturnType<typeof tempDir>;
let dataset: string;

async function sfumato(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string; err: string }> {
  const full: NodeJS.ProcessEnv = { ...process.env, ...env };
  if (!('SFUMATO_TEST_FAIL_PROVIDER' in env)) delete full.SFUMATO_TEST_FAIL_PROVIDER;
  try {
    const r = await run(process.execPath, [CLI, '--data-dir', lib.dir, ...args], { maxBuffer: 1 << 24, env: full });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, out: x.stdout, err: x.stderr };
  }
}

const json = (out: string) => JSON.parse(out.trim().split('\n').pop()!) as Record<string, any>;

beforeAll(async () => {
  lib = tempDir();
  const imp = await sfumato(['datasets', 'import', EMOJI_DIR, '--image-size', '8', '--json']);
  expect(imp.code).toBe(0);
  dataset = json(imp.out).dataset.id;
}, 120_000);
afterAll(() => lib.cleanup());

describe('execution providers (CLI)', () => {
  it('info --json lists every provider for training and sampling with available/selected/why', async () => {
    const r = await sfumato(['info', '--json']);
    expect(r.code).toBe(0);
    const p = json(r.out).info.providers;
    for (const table of [p.training, p.sampling]) {
      expect(table.map((x: { provider: string }) => x.provider)).toEqual(['webgpu', 'cuda', 'dml', 'coreml', 'cpu']);
      expect(table.filter((x: { selected: boolean }) => x.selected)).toHaveLength(1);
      for (const row of table) expect(row.why.length).toBeGreaterThan(0);
    }
    expect(p.training.find((x: { provider: string }) => x.provider === 'cpu').available).toBe(true);
  }, 300_000);

  it('a provider forced to fail (test hook): the run starts on the next one and records why', async () => {
    const r = await sfumato(['train', '--dataset', dataset, '--steps', '1', '--backend', 'onnxruntime', ...TINY, '--json'], { SFUMATO_TEST_FAIL_PROVIDER: 'webgpu' });
    expect(r.code).toBe(0);
    const run = json(r.out).run;
    expect(run).toMatchObject({ status: 'completed', backend: 'onnxruntime-cpu', config: { provider: 'auto' } });
    expect(run.backendNote).toContain('webgpu: made to fail by SFUMATO_TEST_FAIL_PROVIDER (test hook)');
    expect(r.err).toContain('[train] provider webgpu skipped: made to fail by SFUMATO_TEST_FAIL_PROVIDER (test hook)');
    expect(r.err).toContain('[train] provider cpu selected');
  }, 300_000);

  it('--provider webgpu trains and samples on WebGPU (SwiftShader)', async () => {
    expect(existsSync(ICD), `SwiftShader's Vulkan driver is missing (${ICD}): install Debian's chromium package`).toBe(true);
    const tr = await sfumato(['train', '--dataset', dataset, '--steps', '1', '--provider', 'webgpu', ...TINY, '--json'], SWIFTSHADER);
    expect(tr.code, tr.err.slice(-1500)).toBe(0);
    const run = json(tr.out).run;
    expect(run).toMatchObject({ status: 'completed', backend: 'onnxruntime-webgpu', config: { provider: 'webgpu' } });
    expect(tr.err).toMatch(/provider webgpu selected: asked for \(--provider webgpu\); the probe training step matches the CPU provider/);
    const sm = await sfumato(['sample', '--run', run.id, '--count', '1', '--steps', '2', '--seed', '1', '--provider', 'webgpu', '--json'], SWIFTSHADER);
    expect(sm.code, sm.err.slice(-1500)).toBe(0);
    expect(json(sm.out).samples.map((s: { backend: string }) => s.backend)).toEqual(['onnxruntime-webgpu']);
  }, 600_000);

  it('a forced provider that cannot run, or one paired with a non-ORT backend, is a clear error', async () => {
    const bad = await sfumato(['train', '--dataset', dataset, '--steps', '1', '--provider', 'webgpu', '--backend', 'wasm', ...TINY, '--json']);
    expect(bad.code).toBe(2);
    expect(json(bad.out).error).toMatchObject({ code: 'bad_request', details: { field: 'provider' } });
    const cuda = await sfumato(['train', '--dataset', dataset, '--steps', '1', '--provider', 'cuda', ...TINY, '--json']);
    expect(cuda.code).toBe(1);
    expect(cuda.err + cuda.out).toContain('provider cuda is unavailable: the CUDA add-on is not installed');
  }, 300_000);
});
