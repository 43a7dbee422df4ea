import { describe, expect, it } from 'vitest';
import { ALL_CHANNELS, CHANNELS, EVENTS, channelPath } from '../../../src-main/api/channels';
import { ApiError, HTTP_STATUS } from '../../../src-main/api/errors';
import { REQUEST_SCHEMAS } from '../../../src-main/services/validate';

describe('contract channels', () => {
  it('pins every channel name (renaming one breaks IPC and web mode)', () => {
    expect(CHANNELS).toEqual({
      systemInfo: 'system:info',
      datasetsImport: 'datasets:import',
      datasetsList: 'datasets:list',
      datasetsPreview: 'datasets:preview',
      datasetsGet: 'datasets:get',
      datasetsRemove: 'datasets:remove',
      runsStart: 'runs:start',
      runsList: 'runs:list',
      runsGet: 'runs:get',
      runsCancel: 'runs:cancel',
      runsResume: 'runs:resume',
      runsPause: 'runs:pause',
      runsEstimate: 'runs:estimate',
      modelsList: 'models:list',
      modelsImport: 'models:import',
      checkpointsList: 'checkpoints:list',
      sampleGenerate: 'sample:generate',
      galleryQuery: 'gallery:query',
      galleryGet: 'gallery:get',
      galleryDelete: 'gallery:delete',
      galleryRestore: 'gallery:restore',
      galleryEmptyTrash: 'gallery:emptyTrash',
      galleryMeta: 'gallery:meta',
      galleryUpdate: 'gallery:update',
      galleryReproduce: 'gallery:reproduce',
      galleryExport: 'gallery:export',
      jobsList: 'jobs:list',
      jobsCancel: 'jobs:cancel',
      galleryReadRecipe: 'gallery:readRecipe',
    });
    expect(EVENTS).toEqual({ jobProgress: 'jobs:progress' });
  });

  it('names are unique, domain:action, and map to /api/domain/action', () => {
    expect(new Set(ALL_CHANNELS).size).toBe(ALL_CHANNELS.length);
    for (const ch of ALL_CHANNELS) {
      expect(ch).toMatch(/^[a-z]+:[a-zA-Z]+$/);
      expect(channelPath(ch)).toBe(`/api/${ch.split(':')[0]}/${ch.split(':')[1]}`);
    }
  });

  it('every channel has a request schema', () => {
    expect(Object.keys(REQUEST_SCHEMAS).sort()).toEqual([...ALL_CHANNELS].sort());
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
