/** Error-vs-NFE plot (log-log) of sampler bench results, one line per sampler name: a standalone SVG string. */
import type { SamplerBenchResult } from './samplers';

const COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function errorVsNfeSvg(
  results: ReadonlyArray<Pick<SamplerBenchResult, 'name' | 'nfe' | 'swd'>>,
  opts: { width?: number; height?: number; title?: string; metric?: 'swd' } = {},
): string {
  const W = opts.width ?? 640;
  const H = opts.height ?? 420;
  const m = { l: 64, r: 150, t: 36, b: 48 };
  const pts = results.filter((r) => r.nfe > 0 && r.swd > 0 && Number.isFinite(r.swd));
  const lx = pts.map((r) => Math.log10(r.nfe));
  const ly = pts.map((r) => Math.log10(r.swd));
  const x0 = Math.floor(Math.min(...lx, 0));
  const x1 = Math.ceil(Math.max(...lx, x0 + 1));
  const y0 = Math.floor(Math.min(...ly, -1));
  const y1 = Math.ceil(Math.max(...ly, y0 + 1));
  const px = (v: number) => m.l + ((v - x0) / (x1 - x0)) * (W - m.l - m.r);
  const py = (v: number) => H - m.b - ((v - y0) / (y1 - y0)) * (H - m.t - m.b);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(`<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(opts.title ?? 'Sliced Wasserstein-2 vs NFE')}</text>`);
  for (let e = x0; e <= x1; e++) {
    parts.push(`<line x1="${px(e)}" y1="${m.t}" x2="${px(e)}" y2="${H - m.b}" stroke="#ddd"/>`);
    parts.push(`<text x="${px(e)}" y="${H - m.b + 16}" text-anchor="middle">1e${e}</text>`);
  }
  for (let e = y0; e <= y1; e++) {
    parts.push(`<line x1="${m.l}" y1="${py(e)}" x2="${W - m.r}" y2="${py(e)}" stroke="#ddd"/>`);
    parts.push(`<text x="${m.l - 6}" y="${py(e) + 4}" text-anchor="end">1e${e}</text>`);
  }
  parts.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - 10}" text-anchor="middle">NFE (denoiser evaluations)</text>`);
  parts.push(`<text transform="translate(16 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle">SWD</text>`);
  const names = [...new Set(pts.map((r) => r.name))];
  names.forEach((name, k) => {
    const c = COLOURS[k % COLOURS.length];
    const series = pts.filter((r) => r.name === name).sort((a, b) => a.nfe - b.nfe);
    const path = series.map((r, i) => `${i === 0 ? 'M' : 'L'}${px(Math.log10(r.nfe)).toFixed(2)} ${py(Math.log10(r.swd)).toFixed(2)}`).join(' ');
    parts.push(`<path d="${path}" fill="none" stroke="${c}" stroke-width="2"/>`);
    for (const r of series) {
      parts.push(`<circle cx="${px(Math.log10(r.nfe)).toFixed(2)}" cy="${py(Math.log10(r.swd)).toFixed(2)}" r="3" fill="${c}"><title>${esc(`${name}: NFE ${r.nfe}, SWD ${r.swd.toPrecision(4)}`)}</title></circle>`);
    }
    const ly2 = m.t + 10 + 18 * k;
    parts.push(`<line x1="${W - m.r + 12}" y1="${ly2}" x2="${W - m.r + 32}" y2="${ly2}" stroke="${c}" stroke-width="2"/>`);
    parts.push(`<text x="${W - m.r + 38}" y="${ly2 + 4}">${esc(name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}
