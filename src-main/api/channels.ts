/**
 * Channel names of the Sfumato contract, `domain:action`. Electron IPC uses them as channel
 * names; web mode uses them as `POST /api/<domain>/<action>`. Pinned by tests/unit/api/channels.test.ts:
 * renaming one is a breaking change for both transports.
 */
export const CHANNELS = {
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
} as const;

/** Events pushed from the main side to every renderer (IPC `webContents.send`, or the WebSocket). */
export const EVENTS = {
  jobProgress: 'jobs:progress',
} as const;

export type Channel = (typeof CHANNELS)[keyof typeof CHANNELS];
export type EventName = (typeof EVENTS)[keyof typeof EVENTS];

export const ALL_CHANNELS: readonly Channel[] = Object.values(CHANNELS);

/** `datasets:import` -> `/api/datasets/import` */
export function channelPath(channel: Channel): string {
  return '/api/' + channel.replace(':', '/');
}
