/**
 * Repositories: SQL in, plain contract types out. Nothing outside src-main/db writes SQL.
 */
import type { Db } from './db';
import { ModelRepo } from './models';
import { PresetRepo } from './presets';
import { DatasetRepo } from './datasets-repo';
import { RunRepo } from './runs-repo';
import { CheckpointRepo } from './checkpoints-repo';
import { SampleRepo } from './samples-repo';
import { LikelihoodRepo } from './likelihood-repo';

export type { StoredCheckpoint } from './checkpoint-rows';
// Each repository lives in its own file; this one composes them and keeps the old import path.
export { DatasetRepo, type NewDataset } from './datasets-repo';
export { RunRepo } from './runs-repo';
export { CheckpointRepo } from './checkpoints-repo';
export { SampleRepo, BULK_CHUNK } from './samples-repo';

export interface Store {
  db: Db;
  datasets: DatasetRepo;
  runs: RunRepo;
  checkpoints: CheckpointRepo;
  samples: SampleRepo;
  models: ModelRepo;
  presets: PresetRepo;
  likelihood: LikelihoodRepo;
}

export function repositories(db: Db): Store {
  return {
    db,
    datasets: new DatasetRepo(db),
    runs: new RunRepo(db),
    checkpoints: new CheckpointRepo(db),
    samples: new SampleRepo(db),
    models: new ModelRepo(db),
    presets: new PresetRepo(db),
    likelihood: new LikelihoodRepo(db),
  };
}
