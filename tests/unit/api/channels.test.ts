import { describe, expect, it } from 'vitest';
import { ALL_CHANNELS, CONTRACT, EVENTS, channelPath, isChannel, validateRequest } from '../../../src-main/api/channels';
import { ApiError, HTTP_STATUS } from '../../../src-main/api/errors';

describe('contract channels', () => {
  it('pins every channel name (renaming one breaks IPC and web mode)', () => {
    expect(ALL_CHANNELS).toEqual([
      'system:info',
      'system:providers',
      'datasets:import',
      'datasets:list',
      'datasets:preview',
      'datasets:get',
      'datasets:remove',
      'runs:start',
      'runs:list',
      'runs:get',
      'runs:cancel',
      'runs:resume',
      'runs:pause',
      'runs:estimate',
      'models:list',
      'models:import',
      'models:export',
      'models:merge',
      'checkpoints:list',
      'sample:generate',
      'gallery:query',
      'gallery:get',
      'gallery:delete',
      'gallery:restore',
      'gallery:emptyTrash',
      'gallery:meta',
      'gallery:update',
      'gallery:reproduce',
      'gallery:export',
      'jobs:list',
      'jobs:cancel',
      'gallery:readRecipe',
      'runs:rename',
      'runs:delete',
      'sample:grid',
      'presets:list',
      'presets:save',
      'presets:rename',
      'presets:delete',
      'presets:export',
      'presets:import',
      'datasets:rename',
      'datasets:exclude',
      'datasets:renameClass',
      'datasets:images',
      'folders:list',
      'eval:likelihood',
      'datasets:outliers',
      'gallery:typicality',
    ]);
    expect(EVENTS).toEqual({ jobProgress: 'jobs:progress' });
  });

  it('names are unique, domain:action, and map to /api/domain/action', () => {
    expect(new Set(ALL_CHANNELS).size).toBe(ALL_CHANNELS.length);
    for (const ch of ALL_CHANNELS) {
      expect(ch).toMatch(/^[a-z]+:[a-zA-Z]+$/);
      expect(channelPath(ch)).toBe(`/api/${ch.split(':')[0]}/${ch.split(':')[1]}`);
    }
    // camelCase actions keep their case in the path (the web router's map is the exact inverse)
    expect(channelPath('gallery:emptyTrash')).toBe('/api/gallery/emptyTrash');
  });

  it('every row of the table has a request schema and is the only source of the channel list', () => {
    expect(Object.keys(CONTRACT)).toEqual([...ALL_CHANNELS]);
    for (const ch of ALL_CHANNELS) expect(typeof CONTRACT[ch].req.safeParse).toBe('function');
  });

  it('isChannel accepts exactly the table (the preload refuses anything else)', () => {
    for (const ch of ALL_CHANNELS) expect(isChannel(ch)).toBe(true);
    for (const x of ['nope:nope', 'gallery:emptytrash', 'constructor', '__proto__', 'toString', '', 42, null, undefined]) expect(isChannel(x)).toBe(false);
  });

  it('validateRequest names the channel and the field, and refuses unknown fields', () => {
    expect(validateRequest('runs:get', { id: 'run_x' })).toEqual({ id: 'run_x' });
    expect(() => validateRequest('sample:generate', { count: 'four' })).toThrow(/^sample:generate: count: /);
    const e = (() => {
      try {
        validateRequest('jobs:list', { extra: 1 });
      } catch (err) {
        return err as ApiError;
      }
    })();
    expect(e).toBeInstanceOf(ApiError);
    expect(e!.code).toBe('bad_request');
    expect(() => validateRequest('models:export', { checkpointId: 'ckpt_x' })).toThrow(/models:export: to: give a file name ending in \.onnx \(or set download\)/);
    expect(validateRequest('models:export', { checkpointId: 'ckpt_x', download: true })).toEqual({ checkpointId: 'ckpt_x', download: true });
    // the field is named once, by validateRequest (it used to read "to: to: give a folder …")
    expect(() => validateRequest('gallery:export', { ids: ['smp_a'] })).toThrow(/^gallery:export: to: give a folder or a \.zip file \(or set download\)$/);
    expect(() => validateRequest('gallery:export', { ids: ['smp_a'], to: '' })).toThrow(/^gallery:export: to: give a folder or a \.zip file$/);
  });

  it('errors cross as {code, message, details} and come back as ApiError', () => {
    const e = new ApiError('not_found', 'No run run_x.', { id: 'run_x' });
    const wire = JSON.parse(JSON.stringify(e));
    expect(wire).toEqual({ code: 'not_found', message: 'No run run_x.', details: { id: 'run_x' } });
    const back = ApiError.from(wire);
    expect(back).toBeInstanceOf(ApiError);
    expect(back.code).toBe('not_found');
    expect(HTTP_STATUS[back.code]).toBe(404);
    expect(ApiError.from(new Error('boom')).code).toBe('internal');
  });
});
