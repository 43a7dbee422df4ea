/** Repository: Datasets and their items (moved whole from store/repositories.ts; SQL in, plain contract types out). */
import type { Dataset, DatasetItem, ImportError } from '../api/types';
import type { Db } from './db';

export const now = (): string => new Date().toISOString();

// ---------------------------------------------------------------- datasets

interface DatasetRow {
  id: string;
  name: string;
  source_dir: string;
  image_size: number;
  background: string;
  cache_file: string;
  item_count: number;
  error_count: number;
  errors_json: string;
  created_at: string;
}

const toDataset = (r: DatasetRow): Dataset => ({
  id: r.id,
  name: r.name,
  sourceDir: r.source_dir,
  imageSize: r.image_size,
  background: r.background,
  itemCount: r.item_count,
  errorCount: r.error_count,
  createdAt: r.created_at,
});

export interface NewDataset {
  id: string;
  name: string;
  sourceDir: string;
  imageSize: number;
  background: string;
  cacheFile: string;
  items: Omit<DatasetItem, 'datasetId'>[];
  errors: ImportError[];
}

export class DatasetRepo {
  constructor(private readonly db: Db) {}

  async insert(d: NewDataset): Promise<Dataset> {
    const createdAt = now();
    await this.db.transaction(async () => {
      await this.db.run(
        `INSERT INTO datasets (id, name, source_dir, image_size, background, cache_file, item_count, error_count, errors_json, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [d.id, d.name, d.sourceDir, d.imageSize, d.background, d.cacheFile, d.items.length, d.errors.length, JSON.stringify(d.errors), createdAt],
      );
      let idx = 0;
      for (const it of d.items) {
        await this.db.run(
          `INSERT INTO dataset_items (id, dataset_id, idx, file, format, width, height, sha256, thumb) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          [it.id, d.id, idx++, it.file, it.format, it.width, it.height, it.sha256, it.thumb],
        );
      }
    });
    return (await this.get(d.id))!;
  }

  async get(id: string): Promise<Dataset | undefined> {
    const r = await this.db.get<DatasetRow>('SELECT * FROM datasets WHERE id = ?', [id]);
    return r && toDataset(r);
  }

  async cacheFile(id: string): Promise<string | undefined> {
    const r = await this.db.get<{ cache_file: string }>('SELECT cache_file FROM datasets WHERE id = ?', [id]);
    return r?.cache_file;
  }

  async errors(id: string): Promise<ImportError[]> {
    const r = await this.db.get<{ errors_json: string }>('SELECT errors_json FROM datasets WHERE id = ?', [id]);
    return r ? (JSON.parse(r.errors_json) as ImportError[]) : [];
  }

  async list(): Promise<Dataset[]> {
    const rows = await this.db.all<DatasetRow>('SELECT * FROM datasets ORDER BY created_at DESC, id');
    return rows.map(toDataset);
  }

  async items(datasetId: string): Promise<DatasetItem[]> {
    const rows = await this.db.all<{
      id: string;
      dataset_id: string;
      file: string;
      format: string;
      width: number;
      height: number;
      sha256: string;
      thumb: string;
    }>('SELECT * FROM dataset_items WHERE dataset_id = ? ORDER BY idx', [datasetId]);
    return rows.map((r) => ({
      id: r.id,
      datasetId: r.dataset_id,
      file: r.file,
      format: r.format,
      width: r.width,
      height: r.height,
      sha256: r.sha256,
      thumb: r.thumb,
    }));
  }

  /** One item with its position in the dataset's pixel cache. */
  async item(id: string): Promise<(DatasetItem & { index: number }) | undefined> {
    const r = await this.db.get<{ id: string; dataset_id: string; idx: number; file: string; format: string; width: number; height: number; sha256: string; thumb: string }>(
      'SELECT * FROM dataset_items WHERE id = ?',
      [id],
    );
    return r && { id: r.id, datasetId: r.dataset_id, index: r.idx, file: r.file, format: r.format, width: r.width, height: r.height, sha256: r.sha256, thumb: r.thumb };
  }

  async remove(id: string): Promise<boolean> {
    const r = await this.db.run('DELETE FROM datasets WHERE id = ?', [id]);
    return r.changes > 0;
  }
}

// ---------------------------------------------------------------- runs
