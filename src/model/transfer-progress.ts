// PURE. A transfer's progress as a person reads it (CLI --wait, dashboard): a bar with rate and ETA
// for a terminal, a plain sentence for logs and pipes. Input: the /v1/convergence row's `progress`.
import { formatSize } from './size.js';

export interface WireProgress {
  readonly bytes_done: number;
  readonly bytes_total: number;
  readonly bytes_per_second: number;
}

function eta(p: WireProgress): string {
  const left = Math.max(0, p.bytes_total - p.bytes_done);
  if (left === 0) return 'ETA 0s';
  if (p.bytes_per_second <= 0) return 'ETA unknown';
  const s = Math.ceil(left / p.bytes_per_second);
  if (s < 60) return `ETA ${s}s`;
  if (s < 3600) return `ETA ${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `ETA ${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function fraction(p: WireProgress): number {
  if (p.bytes_total <= 0) return 0;
  return Math.min(1, Math.max(0, p.bytes_done / p.bytes_total));
}

/** "45% (115M of 256M) at 52M/s, ETA 3s" */
export function describeTransfer(p: WireProgress): string {
  const pct = Math.floor(fraction(p) * 100);
  return `${pct}% (${formatSize(p.bytes_done, 'short')} of ${formatSize(p.bytes_total, 'short')}) at ${formatSize(Math.round(p.bytes_per_second), 'short')}/s, ${eta(p)}`;
}

/** "[#########...........] 45% (115M of 256M) at 52M/s, ETA 3s" for a terminal line. */
export function transferBar(p: WireProgress, width = 20): string {
  const filled = Math.round(fraction(p) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${describeTransfer(p)}`;
}
