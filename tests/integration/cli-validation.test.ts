/**
 * The CLI goes through the same validated entry points as the app and web mode: a request the
 * app refuses is refused by `sfumato` with the same message (exit code 2), before anything runs;
 * integer flags that cannot be negative say so, naming the flag.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sfumato } from '../../src-main/services/sfumato';
import { tempDir, runCli } from '../helpers/library';

let lib: ReturnType<typeof tempDir>;

const sfumato = (args: string[]) => runCli(lib.dir, args);

/** The message the app's validated entry point gives for this request. */
async function appMessage(req: Parameters<Sfumato['api']['sample:generate']>[0]): Promise<string> {
  const s = await Sfumato.open({ libraryPath: lib.dir, mode: 'cli' });
  try {
    const e = await s.api['sample:generate'](req).then(
      () => undefined,
      (err: unknown) => err as Error & { code: string },
    );
    expect(e?.code).toBe('bad_request');
    return e!.message;
  } finally {
    await s.close();
  }
}

beforeAll(() => {
  lib = tempDir();
});
afterAll(() => lib.cleanup());

describe('sfumato CLI validation', () => {
  it('sample --count 100000 fails with the app\'s validation message, exit 2', async () => {
    const expected = await appMessage({ runId: 'run_nothere', count: 100_000, sampler: 'ddim', steps: 20, options: {}, engine: 'auto' });
    expect(expected).toMatch(/count/);
    const r = await sfumato(['--json', 'sample', '--run', 'run_nothere', '--count', '100000']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.out.trim())).toEqual({ error: expect.objectContaining({ code: 'bad_request', message: expected }) });
    expect(r.err).toContain(expected);
  });

  it('sample --steps 100000000 fails with the app\'s steps bound, exit 2', async () => {
    const expected = await appMessage({ runId: 'run_nothere', count: 1, sampler: 'ddim', steps: 100_000_000, options: {}, engine: 'auto' });
    const r = await sfumato(['sample', '--run', 'run_nothere', '--count', '1', '--steps', '100000000']);
    expect(r.code).toBe(2);
    expect(r.err).toContain(expected);
  });

  it('a negative integer flag is refused, naming the flag', async () => {
    for (const [flag, v] of [
      ['--seed', '-1'],
      ['--count', '-4'],
    ]) {
      const r = await sfumato(['sample', '--run', 'run_nothere', flag, v]);
      expect(r.code).toBe(2);
      expect(r.err).toContain(`${flag} must be an integer of 0 or more (got "${v}")`);
    }
  });
});
