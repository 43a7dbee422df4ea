/**
 * The presets table: named noise schedules and sampling / training presets (migration 6). A
 * preset is unique by kind and name. Bodies are stored as JSON exactly as the service checked
 * them; this repository does not judge them.
 */
import type { Preset, PresetKind } from '../api/presets';
import type { Db } from './db';
import { newId } from './ids';

interface PresetRow {
  id: string;
  kind: PresetKind;
  name: string;
  body_json: string;
  created_at: string;
  updated_at: string;
}

function toPreset(r: PresetRow): Preset {
  return { id: r.id, kind: r.kind, name: r.name, body: JSON.parse(r.body_json), createdAt: r.created_at, updatedAt: r.updated_at } as Preset;
}

const COLUMNS = 'id, kind, name, body_json, created_at, updated_at';

export class PresetRepo {
  constructor(private readonly db: Db) {}

  /** Oldest first within each kind (the order they were saved in). */
  async list(kind?: PresetKind): Promise<Preset[]> {
    const rows = kind
      ? await this.db.all<PresetRow>(`SELECT ${COLUMNS} FROM presets WHERE kind = ? ORDER BY created_at, rowid`, [kind])
      : await this.db.all<PresetRow>(`SELECT ${COLUMNS} FROM presets ORDER BY kind, created_at, rowid`);
    return rows.map(toPreset);
  }

  async get(id: string): Promise<Preset | undefined> {
    const r = await this.db.get<PresetRow>(`SELECT ${COLUMNS} FROM presets WHERE id = ?`, [id]);
    return r && toPreset(r);
  }

  async byName(kind: PresetKind, name: string): Promise<Preset | undefined> {
    const r = await this.db.get<PresetRow>(`SELECT ${COLUMNS} FROM presets WHERE kind = ? AND name = ?`, [kind, name]);
    return r && toPreset(r);
  }

  /** Inserts, or replaces the body of the preset of the same kind and name (keeping its id). */
  async upsert(kind: PresetKind, name: string, body: unknown): Promise<{ preset: Preset; replaced: boolean }> {
    return this.db.transaction(async () => {
      const t = new Date().toISOString();
      const old = await this.byName(kind, name);
      if (old) {
        await this.db.run('UPDATE presets SET body_json = ?, updated_at = ? WHERE id = ?', [JSON.stringify(body), t, old.id]);
        return { preset: (await this.get(old.id))!, replaced: true };
      }
      const id = newId('preset');
      await this.db.run(`INSERT INTO presets (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)`, [id, kind, name, JSON.stringify(body), t, t]);
      return { preset: (await this.get(id))!, replaced: false };
    });
  }

  /**
   * Writes many presets in one transaction (an import: all or nothing). A taken kind + name is
   * renamed "name (2)", "name (3)", … (`rename`), overwritten (`replace`) or left out (`skip`).
   */
  async importAll(
    entries: readonly { kind: PresetKind; name: string; body: unknown }[],
    onConflict: 'rename' | 'replace' | 'skip',
  ): Promise<{ imported: Preset[]; renamed: { from: string; to: string; kind: PresetKind }[]; skipped: { name: string; kind: PresetKind }[] }> {
    return this.db.transaction(async () => {
      const out = { imported: [] as Preset[], renamed: [] as { from: string; to: string; kind: PresetKind }[], skipped: [] as { name: string; kind: PresetKind }[] };
      const t = new Date().toISOString();
      for (const e of entries) {
        const old = await this.byName(e.kind, e.name);
        let name = e.name;
        if (old && onConflict === 'skip') {
          out.skipped.push({ name: e.name, kind: e.kind });
          continue;
        }
        if (old && onConflict === 'replace') {
          await this.db.run('UPDATE presets SET body_json = ?, updated_at = ? WHERE id = ?', [JSON.stringify(e.body), t, old.id]);
          out.imported.push((await this.get(old.id))!);
          continue;
        }
        if (old) {
          for (let n = 2; await this.byName(e.kind, name); n++) name = `${e.name} (${n})`;
          out.renamed.push({ from: e.name, to: name, kind: e.kind });
        }
        const id = newId('preset');
        await this.db.run(`INSERT INTO presets (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)`, [id, e.kind, name, JSON.stringify(e.body), t, t]);
        out.imported.push((await this.get(id))!);
      }
      return out;
    });
  }

  /** false when another preset of the same kind already has the name (nothing changed). */
  async rename(id: string, name: string): Promise<boolean> {
    const r = await this.db.run(
      'UPDATE presets SET name = ?, updated_at = ? WHERE id = ? AND NOT EXISTS (SELECT 1 FROM presets o WHERE o.kind = presets.kind AND o.name = ? AND o.id <> presets.id)',
      [name, new Date().toISOString(), id, name],
    );
    return r.changes > 0;
  }

  async remove(id: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM presets WHERE id = ?', [id])).changes > 0;
  }
}
