/** system:info through the composition root: mode, library folder, version, backend facts. */
import { describe, expect, it } from 'vitest';
import { APP_VERSION } from '../../../src-main/services/system';
import { fakeService } from '../../helpers/fake-jobs';

describe('system info', () => {
  it('says which mode, library and version it runs, and which backend is active', async () => {
    const { s, dir, close } = await fakeService();
    try {
      const info = await s.api['system:info']({});
      expect(info).toMatchObject({ appVersion: APP_VERSION, mode: 'cli', libraryPath: dir });
      expect(typeof info.backend.active).toBe('string');
      expect(Object.keys(info.versions).length).toBeGreaterThan(0);
      await expect(s.api['system:info']({ extra: 1 } as never)).rejects.toMatchObject({ code: 'bad_request' });
    } finally {
      await close();
    }
  });
});
