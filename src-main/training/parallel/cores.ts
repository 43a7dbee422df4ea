/**
 * Physical CPU cores usable by this process: distinct (physical id, core id) pairs of
 * /proc/cpuinfo on Linux, capped by os.availableParallelism() (affinity, cgroup limits); elsewhere
 * availableParallelism(). One SIMD-bound wasm replica per physical core: a second one on the
 * hyper-thread sibling of a core shares its vector units and mostly adds memory traffic.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

let cached: number | undefined;

export function physicalCores(): number {
  if (cached !== undefined) return cached;
  const logical = Math.max(1, availableParallelism());
  let physical = logical;
  if (process.platform === 'linux') {
    try {
      const pairs = new Set<string>();
      let phys = '0';
      for (const line of readFileSync('/proc/cpuinfo', 'utf8').split('\n')) {
        const m = /^(physical id|core id)\s*:\s*(\d+)/.exec(line);
        if (!m) continue;
        if (m[1] === 'physical id') phys = m[2];
        else pairs.add(`${phys}:${m[2]}`);
      }
      if (pairs.size > 0) physical = pairs.size;
    } catch {
      // no /proc: keep the logical count
    }
  }
  cached = Math.max(1, Math.min(physical, logical));
  return cached;
}
