/**
 * CLI output rules: with --json exactly one JSON object goes to stdout at the end; progress and
 * human-readable text go to stderr (progress) or stdout (results, without --json).
 */
import type { JobProgress } from '../api/types';

export class Output {
  private lastLine = 0;
  constructor(readonly json: boolean) {}

  /** Final result: JSON object with --json, else the human text. */
  result(obj: unknown, human: () => string): void {
    if (this.json) process.stdout.write(JSON.stringify(obj) + '\n');
    else process.stdout.write(human() + '\n');
  }

  info(msg: string): void {
    process.stderr.write(msg + '\n');
  }

  /** Progress line on stderr, at most ~4 per second unless it is the last one. */
  progress(p: JobProgress): void {
    const now = Date.now();
    // a job's log line (done -1) always shows: it may say why a device was skipped
    const final = p.state !== 'running' || p.done >= p.total || (p.done < 0 && !!p.message);
    if (!final && now - this.lastLine < 250) return;
    this.lastLine = now;
    const pct = p.total > 0 && p.done >= 0 ? ` ${Math.floor((100 * p.done) / p.total)}%` : '';
    const parts = [`[${p.kind}]`, p.done >= 0 ? `${p.done}/${p.total}${pct}` : '', p.state !== 'running' ? p.state : ''];
    if (p.loss !== undefined) parts.push(`loss ${p.loss.toFixed(5)}`);
    if (p.stepsPerSec) parts.push(`${p.stepsPerSec.toFixed(2)} steps/s`);
    if (p.etaSec !== undefined && p.state === 'running') parts.push(`ETA ${formatDuration(p.etaSec)}`);
    if (p.message) parts.push(p.message);
    process.stderr.write(parts.filter(Boolean).join(' ') + '\n');
  }
}

export function formatDuration(sec: number): string {
  if (!Number.isFinite(sec)) return '?';
  const s = Math.round(sec);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
