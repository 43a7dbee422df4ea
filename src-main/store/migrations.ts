/**
 * Numbered schema migrations. Migration N (1-based) brings PRAGMA user_version from N-1 to N.
 * Never edit a migration that has shipped: add a new one.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: the walking skeleton's tables.
  `
  CREATE TABLE datasets (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    source_dir TEXT NOT NULL,
    image_size INTEGER NOT NULL,
    background TEXT NOT NULL,
    cache_file TEXT NOT NULL,
    item_count INTEGER NOT NULL,
    error_count INTEGER NOT NULL,
    errors_json TEXT NOT NULL DEFAULT '[]',
    created_at TEXT NOT NULL
  );
  CREATE TABLE dataset_items (
    id TEXT PRIMARY KEY,
    dataset_id TEXT NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    file TEXT NOT NULL,
    format TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    thumb TEXT NOT NULL,
    UNIQUE (dataset_id, idx)
  );
  CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    dataset_id TEXT REFERENCES datasets(id) ON DELETE SET NULL,
    status TEXT NOT NULL CHECK (status IN ('queued','running','paused','interrupted','failed','completed','cancelled')),
    config_json TEXT NOT NULL,
    seed INTEGER NOT NULL,
    step INTEGER NOT NULL DEFAULT 0,
    last_loss REAL,
    backend TEXT,
    error TEXT,
    pid INTEGER,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE TABLE run_losses (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step INTEGER NOT NULL,
    loss REAL NOT NULL,
    PRIMARY KEY (run_id, step)
  );
  CREATE TABLE checkpoints (
    id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step INTEGER NOT NULL,
    file TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    loss REAL,
    created_at TEXT NOT NULL
  );
  CREATE INDEX checkpoints_run ON checkpoints(run_id, step);
  CREATE TABLE samples (
    id TEXT PRIMARY KEY,
    file TEXT NOT NULL,
    seed INTEGER NOT NULL,
    sampler TEXT NOT NULL,
    steps INTEGER NOT NULL,
    sampler_options_json TEXT NOT NULL,
    schedule_json TEXT NOT NULL,
    checkpoint_id TEXT REFERENCES checkpoints(id) ON DELETE SET NULL,
    checkpoint_sha256 TEXT NOT NULL,
    run_id TEXT REFERENCES runs(id) ON DELETE SET NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    backend TEXT NOT NULL,
    app_version TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE INDEX samples_created ON samples(created_at);
  CREATE INDEX samples_run ON samples(run_id);
  `,
  // 2: the training engine (fine-tuning origin, weight digests, previews) and richer sample records.
  `
  ALTER TABLE runs ADD COLUMN init_json TEXT;
  ALTER TABLE checkpoints ADD COLUMN weights_digest TEXT;
  CREATE TABLE run_previews (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step INTEGER NOT NULL,
    file TEXT NOT NULL,
    PRIMARY KEY (run_id, step)
  );
  ALTER TABLE samples ADD COLUMN prediction TEXT NOT NULL DEFAULT 'eps';
  ALTER TABLE samples ADD COLUMN nfe INTEGER NOT NULL DEFAULT 0;
  `,
  // 3: gallery provenance (origin, parent) and organisation (favourites, tags, collections, trash).
  `
  ALTER TABLE samples ADD COLUMN origin_json TEXT NOT NULL DEFAULT '{"kind":"seed"}';
  ALTER TABLE samples ADD COLUMN parent_id TEXT REFERENCES samples(id) ON DELETE SET NULL;
  ALTER TABLE samples ADD COLUMN favorite INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE samples ADD COLUMN deleted_at TEXT;
  CREATE INDEX samples_deleted ON samples(deleted_at);
  CREATE INDEX samples_checkpoint_sha ON samples(checkpoint_sha256);
  CREATE TABLE sample_tags (
    sample_id TEXT NOT NULL REFERENCES samples(id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    PRIMARY KEY (sample_id, tag)
  );
  CREATE INDEX sample_tags_tag ON sample_tags(tag);
  CREATE TABLE collections (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
  );
  CREATE TABLE collection_items (
    collection_id TEXT NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    sample_id TEXT NOT NULL REFERENCES samples(id) ON DELETE CASCADE,
    PRIMARY KEY (collection_id, sample_id)
  );
  `,
  // 4: indexes for the foreign keys that point at samples, so deleting a sample does not scan the
  // whole samples / collection_items tables (emptying a big trash was quadratic).
  `
  CREATE INDEX samples_parent ON samples(parent_id);
  CREATE INDEX collection_items_sample ON collection_items(sample_id);
  `,
];
