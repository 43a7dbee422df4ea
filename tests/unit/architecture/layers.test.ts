/**
 * Architecture check: the layer order of src-main, what the renderer may import, and no import
 * cycles. It reads every import of src-main and src-renderer/src itself (TypeScript's own import
 * scanner, `ts.preProcessFile`: static, type-only, re-exports, side-effect and dynamic imports,
 * never strings or comments). docs/architecture.md draws the same order.
 *
 * THE ALLOWED ORDER (lowest first). A file may import files of its own folder and of any folder in
 * a LOWER layer; never a folder of its own layer (siblings stay independent) or of a higher one.
 *
 *   0  diffusion  png  version   pure maths (schedules, samplers, model families), the PNG chunk
 *      proc                      codec, the app version, whether a process id is alive
 *   1  api                       the contract: channels, request/response types, errors, bounds
 *   2  network  db               the tfjs UNet and its adapters | sqlite repositories, library files
 *   3  onnx                      protobuf codec, graph builder, UNet graph and export, ORT sessions
 *   4  datasets  gallery         dataset import and caches | sample PNGs, metadata, exports
 *   5  training                  trainer, optimiser, backend ladder, ONNX gradient engine, previews
 *   6  jobs                      job protocol, job process and its handlers, manager, launcher
 *   7  services                  the one service layer (Sfumato)
 *   8  server                    web mode: the contract over HTTP and WebSocket
 *   9  app  cli  preload         Electron shell | command line | the preload bridge
 *
 * The renderer (src-renderer/src) may import from src-main only api/ and diffusion/, and those two
 * import no Node builtin and no package except zod (pure JavaScript, browser-safe: the contract's
 * request schemas in api/ are zod), so the renderer never runs Node code. src-main never imports
 * the renderer. No import cycle between files anywhere (type-only imports count too).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const LAYERS: readonly (readonly string[])[] = [
  ['diffusion', 'png', 'version', 'proc'],
  ['api'],
  ['network', 'db'],
  ['onnx'],
  ['datasets', 'gallery'],
  ['training'],
  ['jobs'],
  ['services'],
  ['server'],
  ['app', 'cli', 'preload'],
];
/** The src-main folders the renderer may import: pure TypeScript, no Node, no packages but PURE_PACKAGES. */
const RENDERER_MAY_IMPORT = ['api', 'diffusion'];
/** Packages those pure folders may import: zod (pure JavaScript, browser-safe; the contract's request schemas). */
const PURE_PACKAGES: readonly string[] = ['zod'];
/** Files outside the walked folders that src-main may import. */
const OUTSIDE_ALLOWED = ['package.json'];

const ORDER = LAYERS.map((l) => l.join(' ')).join(' < ');
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const CODE = /\.(ts|mts|mjs|js|vue)$/;

interface Edge {
  from: string;
  line: number;
  spec: string;
  /** repo-relative target; `null` for a package or Node builtin; `undefined` if it resolves to nothing */
  to: string | null | undefined;
}

/** Import specifiers of one file with their 1-based lines (only the <script> blocks of a .vue file). */
function importsOf(path: string, source: string): { spec: string; line: number }[] {
  const blocks: { text: string; offset: number }[] = [];
  if (path.endsWith('.vue')) {
    for (const m of source.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)) blocks.push({ text: m[1], offset: m.index + m[0].indexOf('>') + 1 });
  } else {
    blocks.push({ text: source, offset: 0 });
  }
  const out: { spec: string; line: number }[] = [];
  for (const b of blocks) {
    for (const f of ts.preProcessFile(b.text, true, true).importedFiles) {
      const line = source.slice(0, b.offset + f.pos).split('\n').length;
      out.push({ spec: f.fileName, line });
    }
  }
  return out;
}

function resolveSpec(from: string, spec: string, known: ReadonlySet<string>): string | null | undefined {
  if (!spec.startsWith('.')) return null;
  const base = posix.normalize(posix.join(posix.dirname(from), spec.replace(/[?#].*$/, '')));
  for (const c of [base, `${base}.ts`, `${base}.mts`, base.replace(/\.m?js$/, '.ts'), `${base}/index.ts`, `${base}.vue`]) if (known.has(c)) return c;
  return undefined;
}

/** Every import edge of the given files (repo-relative path -> source; other known files may be targets). */
function edgesOf(sources: ReadonlyMap<string, string>, known: ReadonlySet<string>): Edge[] {
  const edges: Edge[] = [];
  for (const [from, src] of sources) for (const { spec, line } of importsOf(from, src)) edges.push({ from, line, spec, to: resolveSpec(from, spec, known) });
  return edges;
}

/** `main:<folder>` (top-level files count as their stem), `renderer`, or `other`. */
function areaOf(path: string): { area: 'main'; folder: string } | { area: 'renderer' } | { area: 'other' } {
  const parts = path.split('/');
  if (parts[0] === 'src-main' && parts.length >= 2) return { area: 'main', folder: parts.length === 2 ? parts[1].replace(/\.[^.]+$/, '') : parts[1] };
  if (parts[0] === 'src-renderer' && parts[1] === 'src') return { area: 'renderer' };
  return { area: 'other' };
}

function layerOf(folder: string): number {
  return LAYERS.findIndex((l) => l.includes(folder));
}

/** Every import that breaks a rule of the header, as `file:line → target: the rule it breaks`. */
function layerViolations(edges: readonly Edge[]): string[] {
  const out: string[] = [];
  for (const e of edges) {
    const at = `${e.from}:${e.line} → ${e.to ?? `'${e.spec}'`}`;
    const a = areaOf(e.from);
    if (e.to === undefined) {
      out.push(`${at}: resolves to no file (the check knows src-main, src-renderer/src and ${OUTSIDE_ALLOWED.join(', ')}); fix the path`);
      continue;
    }
    if (e.to === null) {
      if (a.area === 'main' && RENDERER_MAY_IMPORT.includes(a.folder) && !PURE_PACKAGES.includes(e.spec)) {
        out.push(`${at}: ${a.folder}/ is imported by the renderer, so it imports no Node builtin and no package but ${PURE_PACKAGES.join(', ')}; move this code to a Node-side folder`);
      }
      continue;
    }
    const b = areaOf(e.to);
    if (a.area === 'main') {
      if (b.area === 'renderer') out.push(`${at}: src-main never imports the renderer`);
      else if (b.area === 'other' && !OUTSIDE_ALLOWED.includes(e.to)) out.push(`${at}: src-main imports only src-main and ${OUTSIDE_ALLOWED.join(', ')}`);
      else if (b.area === 'main' && a.folder !== b.folder) {
        const la = layerOf(a.folder);
        const lb = layerOf(b.folder);
        if (la < 0 || lb < 0) continue; // reported by the "every folder has a layer" test
        if (la === lb) out.push(`${at}: ${a.folder}/ and ${b.folder}/ are siblings in layer ${la} and must not import each other; move the shared code to a lower layer (order: ${ORDER})`);
        else if (lb > la) out.push(`${at}: ${a.folder}/ (layer ${la}) must not import ${b.folder}/ (layer ${lb}); imports go only downward (order: ${ORDER})`);
      }
    } else if (a.area === 'renderer') {
      if (b.area === 'main' && !RENDERER_MAY_IMPORT.includes(b.folder)) {
        out.push(`${at}: the renderer may import from src-main only ${RENDERER_MAY_IMPORT.map((f) => `${f}/`).join(' and ')} (pure, no Node); move what it needs there`);
      } else if (b.area === 'other') out.push(`${at}: the renderer imports only src-renderer/src, ${RENDERER_MAY_IMPORT.map((f) => `src-main/${f}/`).join(' and ')}`);
    }
  }
  return out;
}

/** Import cycles between files (Tarjan's strongly connected components), each with its edges. */
function importCycles(edges: readonly Edge[]): string[] {
  const adj = new Map<string, Edge[]>();
  for (const e of edges) if (e.to) (adj.get(e.from) ?? adj.set(e.from, []).get(e.from)!).push(e);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const e of adj.get(v) ?? []) {
      const w = e.to!;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const comp = new Set<string>();
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      comp.add(w);
    } while (w !== v);
    if (comp.size === 1 && !(adj.get(v) ?? []).some((e) => e.to === v)) return;
    // Name one shortest cycle through the component's first file (breadth-first inside the component).
    const start = [...comp].sort()[0];
    const via = new Map<string, Edge>();
    const queue = [start];
    let closing: Edge | undefined;
    while (queue.length && !closing) {
      for (const e of adj.get(queue.shift()!) ?? []) {
        if (e.to === start) closing = e;
        else if (comp.has(e.to!) && !via.has(e.to!)) {
          via.set(e.to!, e);
          queue.push(e.to!);
        }
        if (closing) break;
      }
    }
    const path: Edge[] = [closing!];
    while (path[0].from !== start) path.unshift(via.get(path[0].from)!);
    const more = comp.size > path.length ? ` (${comp.size} files import each other in this group: ${[...comp].sort().join(', ')})` : '';
    out.push(`import cycle: ${path.map((e) => `${e.from}:${e.line} → ${e.to}`).join(', ')}${more}`);
  };
  for (const v of [...adj.keys()].sort()) if (!index.has(v)) visit(v);
  return out;
}

function walk(dir: string, into: string[]): string[] {
  for (const name of readdirSync(REPO + dir).sort()) {
    const rel = `${dir}/${name}`;
    if (statSync(REPO + rel).isDirectory()) walk(rel, into);
    else into.push(rel);
  }
  return into;
}

const files = [...walk('src-main', []), ...walk('src-renderer/src', [])];
const known = new Set([...files, ...OUTSIDE_ALLOWED]);
const sources = new Map(files.filter((f) => CODE.test(f)).map((f) => [f, readFileSync(REPO + f, 'utf8')] as const));
const edges = edgesOf(sources, known);

describe('architecture: layers without cycles', () => {
  it('reads the imports of both sides (a sanity check of the walker)', () => {
    expect(sources.size).toBeGreaterThan(100);
    expect(edges.filter((e) => e.to && areaOf(e.from).area === 'renderer' && areaOf(e.to).area === 'main').length).toBeGreaterThan(10);
    // one known edge of each kind: static, type-only, dynamic
    const has = (from: string, to: string) => edges.some((e) => e.from === from && e.to === to);
    expect(has('src-main/jobs/train-job.ts', 'src-main/training/trainer.ts')).toBe(true);
    expect(has('src-main/jobs/train-job.ts', 'src-main/jobs/protocol.ts')).toBe(true);
    expect(has('src-main/jobs/job-process.ts', 'src-main/jobs/sample-job.ts')).toBe(true);
  });

  it('every src-main folder (and top-level file) has a place in the layer order', () => {
    const folders = [...new Set(files.map(areaOf).flatMap((a) => (a.area === 'main' ? [a.folder] : [])))].sort();
    const missing = folders.filter((f) => layerOf(f) < 0).map((f) => `src-main/${f} is in no layer: add it to LAYERS in tests/unit/architecture/layers.test.ts and to docs/architecture.md`);
    expect(missing).toEqual([]);
    expect(LAYERS.flat().filter((f) => !folders.includes(f)), 'LAYERS names folders that do not exist').toEqual([]);
  });

  it('src-main imports only downward in the layer order, and the renderer only the contract and the pure maths', () => {
    expect(layerViolations(edges)).toEqual([]);
  });

  it('no import cycle between files (src-main and the renderer, type-only imports included)', () => {
    expect(importCycles(edges)).toEqual([]);
  });

  it('the checker itself reports each kind of bad import with file:line, target and the rule broken', () => {
    const fake = new Map([
      ['src-main/diffusion/x.ts', `import type { Trainer } from '../training/trainer';\n`],
      ['src-main/training/trainer.ts', `export class Trainer {}\n`],
      ['src-main/gallery/a.ts', `// a comment: import { nope } from '../training/trainer';\nconst s = "import { b } from '../db/db'";\nexport const a = () => import('../datasets/b');\n`],
      ['src-main/datasets/b.ts', `import { c } from './c';\nexport const b = 1;\n`],
      ['src-main/datasets/c.ts', `export { b } from './b';\nexport const c = 1;\n`],
      ['src-main/api/t.ts', `import { readFileSync } from 'node:fs';\nimport { gone } from './gone';\n`],
      ['src-main/db/db.ts', `export const db = 1;\n`],
      ['src-renderer/src/Page.vue', `<template><p>import x from '../../src-main/db/db'</p></template>\n<script setup lang="ts">\nimport { db } from '../../src-main/db/db';\n</script>\n`],
    ]);
    const fakeEdges = edgesOf(fake, new Set(fake.keys()));
    expect(layerViolations(fakeEdges)).toEqual([
      `src-main/diffusion/x.ts:1 → src-main/training/trainer.ts: diffusion/ (layer 0) must not import training/ (layer 5); imports go only downward (order: ${ORDER})`,
      `src-main/gallery/a.ts:3 → src-main/datasets/b.ts: gallery/ and datasets/ are siblings in layer 4 and must not import each other; move the shared code to a lower layer (order: ${ORDER})`,
      `src-main/api/t.ts:1 → 'node:fs': api/ is imported by the renderer, so it imports no Node builtin and no package but ${PURE_PACKAGES.join(', ')}; move this code to a Node-side folder`,
      `src-main/api/t.ts:2 → './gone': resolves to no file (the check knows src-main, src-renderer/src and package.json); fix the path`,
      `src-renderer/src/Page.vue:3 → src-main/db/db.ts: the renderer may import from src-main only api/ and diffusion/ (pure, no Node); move what it needs there`,
    ]);
    expect(importCycles(fakeEdges)).toEqual(['import cycle: src-main/datasets/b.ts:1 → src-main/datasets/c.ts, src-main/datasets/c.ts:1 → src-main/datasets/b.ts']);
  });
});
