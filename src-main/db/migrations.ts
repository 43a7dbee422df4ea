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
  // 5: models as models. Bundled and imported ONNX models were stored as fake training runs (no
  // dataset, init_json naming the model, one checkpoint holding the model's own weights). They move
  // to a models table; their checkpoint rows stay (same ids, files and sha256, so every gallery
  // sample still names and reproduces from them) but belong to the model, not to a run.
  // A real fine-tune of a bundled model whose dataset was removed also has no dataset: it is told
  // apart by its losses and by checkpoints that differ from the model's weights.
  // Rebuilding checkpoints (run_id becomes nullable) drops the table, which would null every
  // samples.checkpoint_id (ON DELETE SET NULL): those are saved first and put back.
  `
  CREATE TABLE models (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('bundled','onnx')),
    name TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    config_json TEXT NOT NULL,
    signature_json TEXT,
    created_at TEXT NOT NULL
  );
  CREATE TEMP TABLE m5_fake_runs AS
    SELECT r.id AS run_id, json_extract(r.init_json, '$.modelId') AS model_id FROM runs r
    WHERE r.dataset_id IS NULL AND r.init_json IS NOT NULL AND json_extract(r.init_json, '$.modelId') IS NOT NULL
      AND (json_extract(r.init_json, '$.kind') = 'onnx'
           OR (NOT EXISTS (SELECT 1 FROM run_losses l WHERE l.run_id = r.id)
               AND EXISTS (SELECT 1 FROM checkpoints c WHERE c.run_id = r.id)
               AND NOT EXISTS (SELECT 1 FROM checkpoints c WHERE c.run_id = r.id AND c.sha256 <> json_extract(r.init_json, '$.sha256'))));
  INSERT OR IGNORE INTO models (id, kind, name, sha256, config_json, signature_json, created_at)
    SELECT f.model_id,
           CASE WHEN json_extract(r.init_json, '$.kind') = 'onnx' THEN 'onnx' ELSE 'bundled' END,
           COALESCE(json_extract(r.init_json, '$.name'), f.model_id),
           json_extract(r.init_json, '$.sha256'),
           r.config_json,
           json_extract(r.init_json, '$.signature'),
           r.created_at
    FROM m5_fake_runs f JOIN runs r ON r.id = f.run_id ORDER BY r.created_at;
  CREATE TEMP TABLE m5_sample_checkpoints AS SELECT id, checkpoint_id FROM samples WHERE checkpoint_id IS NOT NULL;
  CREATE TABLE checkpoints_v5 (
    id TEXT PRIMARY KEY,
    run_id TEXT REFERENCES runs(id) ON DELETE CASCADE,
    model_id TEXT REFERENCES models(id) ON DELETE CASCADE,
    step INTEGER NOT NULL,
    file TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    loss REAL,
    created_at TEXT NOT NULL,
    weights_digest TEXT,
    CHECK ((run_id IS NULL) <> (model_id IS NULL))
  );
  INSERT INTO checkpoints_v5 (id, run_id, model_id, step, file, sha256, loss, created_at, weights_digest)
    SELECT c.id, CASE WHEN f.run_id IS NULL THEN c.run_id END, f.model_id, c.step, c.file, c.sha256, c.loss, c.created_at, c.weights_digest
    FROM checkpoints c LEFT JOIN m5_fake_runs f ON f.run_id = c.run_id;
  DROP TABLE checkpoints;
  ALTER TABLE checkpoints_v5 RENAME TO checkpoints;
  CREATE INDEX checkpoints_run ON checkpoints(run_id, step);
  CREATE INDEX checkpoints_model ON checkpoints(model_id);
  CREATE INDEX checkpoints_sha ON checkpoints(sha256);
  UPDATE samples SET checkpoint_id = (SELECT k.checkpoint_id FROM m5_sample_checkpoints k WHERE k.id = samples.id)
    WHERE id IN (SELECT id FROM m5_sample_checkpoints);
  DELETE FROM runs WHERE id IN (SELECT run_id FROM m5_fake_runs);
  DROP TABLE m5_fake_runs;
  DROP TABLE m5_sample_checkpoints;
  `,
  // 6: runs as things you manage: a name (shown wherever a run is), and deleted_at. A deleted run
  // whose checkpoints made gallery images keeps its row (as a tombstone: its config is what those
  // checkpoints are sampled with) and those checkpoint rows; runs:list no longer shows it.
  // Runs written before have no name: they get "<dataset> · <scratch|fine-tune> · <date>".
  `
  ALTER TABLE runs ADD COLUMN name TEXT;
  ALTER TABLE runs ADD COLUMN deleted_at TEXT;
  UPDATE runs SET name = COALESCE((SELECT d.name FROM datasets d WHERE d.id = runs.dataset_id), 'run')
    || ' · ' || CASE WHEN init_json IS NULL THEN 'scratch' ELSE 'fine-tune' END
    || ' · ' || substr(created_at, 1, 10);
  CREATE INDEX runs_deleted ON runs(deleted_at);
  `,
  // 7: X/Y grids. A grid image is a gallery record of kind 'grid'; grid_json holds a cell's grid
  // id and position or a grid's recipe and cells (api/types.ts GridRef); grid_id finds a grid's cells.
  `
  ALTER TABLE samples ADD COLUMN kind TEXT NOT NULL DEFAULT 'sample';
  ALTER TABLE samples ADD COLUMN grid_id TEXT;
  ALTER TABLE samples ADD COLUMN grid_json TEXT;
  CREATE INDEX samples_grid ON samples(grid_id);
  `,
  // 8: saved things of the library: named noise schedules and sampling / training presets (were in
  // the browser's localStorage, invisible to another browser, port or the CLI). The body is the
  // preset's JSON, checked by services/presets.ts before it is written.
  `
  CREATE TABLE presets (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('schedule','sampling','training')),
    name TEXT NOT NULL,
    body_json TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (kind, name)
  );
  `,
  // 9: datasets: single images can be excluded from training (the prepared cache stays as it is),
  // the caption sidecars found at import are counted, and each run records the cache indices and
  // content hash of the images it was started on, so resuming it keeps that set after later
  // exclusions. Runs without a run_images row trained on the whole cache.
  `
  ALTER TABLE dataset_items ADD COLUMN excluded INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE datasets ADD COLUMN caption_count INTEGER NOT NULL DEFAULT 0;
  CREATE TABLE run_images (
    run_id TEXT PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    dataset_hash TEXT NOT NULL,
    indices_json TEXT NOT NULL
  );
  `,
  // 10: why a run's ONNX Runtime execution provider was chosen: one line per provider left out
  // (onnx/providers.ts), recorded when the job starts.
  `
  ALTER TABLE runs ADD COLUMN backend_note TEXT;
  `,
  // 11: class labels (class-conditional training). An item's class is the folder name below the
  // imported folder (`--labels subfolders`; NULL = unlabelled); datasets record how they were
  // labelled. A run records its images' labels (indices into its config's classes) beside their
  // cache indices, so a resumed run trains on the labels it started with after a class rename.
  // Samples of class-conditional models record their class and guidance scale (guidance_json).
  `
  ALTER TABLE dataset_items ADD COLUMN class TEXT;
  ALTER TABLE datasets ADD COLUMN labels TEXT NOT NULL DEFAULT 'none';
  ALTER TABLE run_images ADD COLUMN labels_json TEXT;
  CREATE INDEX dataset_items_class ON dataset_items(dataset_id, class);
  ALTER TABLE samples ADD COLUMN guidance_json TEXT;
  `,
  // 12: the copying signal of each training preview (training/memorisation.ts): the samples'
  // nearest-training-image distance over the training images' own, and the share of near-copies.
  `
  ALTER TABLE run_previews ADD COLUMN nn_ratio REAL;
  ALTER TABLE run_previews ADD COLUMN copy_share REAL;
  `,
  // 13: likelihood results worth keeping. sample_likelihood: "how typical is this image for its
  // model" (bits/dim of a gallery image under the checkpoint that made it), one row per sample,
  // replaced when computed again. run_likelihood: held-out (or sampled) bits/dim of a run's
  // checkpoints, the curve beside the loss on the training dashboard.
  `
  CREATE TABLE sample_likelihood (
    sample_id TEXT PRIMARY KEY REFERENCES samples(id) ON DELETE CASCADE,
    checkpoint_id TEXT NOT NULL,
    method TEXT NOT NULL,
    bits_per_dim REAL NOT NULL,
    std_err REAL NOT NULL,
    probes INTEGER NOT NULL,
    seed INTEGER NOT NULL,
    computed_at TEXT NOT NULL
  );
  CREATE TABLE run_likelihood (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    checkpoint_id TEXT NOT NULL,
    step INTEGER NOT NULL,
    method TEXT NOT NULL,
    images TEXT NOT NULL,
    n INTEGER NOT NULL,
    bits_per_dim REAL NOT NULL,
    std_err REAL NOT NULL,
    computed_at TEXT NOT NULL,
    PRIMARY KEY (run_id, checkpoint_id, method, images)
  );
  `,
  // 14: a sample made with a LoRA adapter applied records it: {sha256, file, scale} (JSON), null otherwise.
  `
  ALTER TABLE samples ADD COLUMN lora_json TEXT;
  `,
  // 15: the held-out quality of each training preview (training/heldout-quality.ts): pixel SWD and
  // feature MMD² of fresh samples against images the run never trained on, with their floors (JSON).
  `
  ALTER TABLE run_previews ADD COLUMN heldout_json TEXT;
  `,
];
