/**
 * Per-op-class times of one training-graph run from ONNX Runtime's profiler trace (Chrome trace
 * JSON: one `Node` event per kernel with its node name, `args.op_name` and `dur` in µs). Classes
 * follow the node names the graph builders give: forward nodes are named by their layer
 * (`down.0.0.c1/conv`, `mid1.n2/inorm`, ...) and every backward node by the forward node it
 * differentiates plus a suffix (`.../conv/dx`, `.../conv/dw2d`, ...), see autodiff.ts.
 */
import { readFileSync } from 'node:fs';

const WEIGHT_GRAD = ['/dw', '/tap', '/im2col', '/cols', '/xpad', '/xT', '/dyT', '/dy2d', '/x2d', '/dyshift', '/dyrows'];

/** Node names of the optimiser part of the one-graph step (step-graph.ts). */
const OPTIMIZER = /^(clip|adam|ema)\/|^new\.|^grad_norm|^grad\/acc_/;
/** ... and of its flat state plumbing: the parameter split and the gradient concat. */
const FLAT_STATE = /^params\/split|\.(weight|bias)\/(unflat|grad_flat)(_\d+)?$|^grad\/concat/;

/** Op class of a kernel from its node name and op type. */
export function trainGraphOpClass(node: string, op: string): string {
  // activations to and from the blocked layout, and the weights into its filter order each step
  if (/^Reorder(Input|Output)$/.test(op) || /\/conv(\/dx)?\/w_/.test(node)) return 'NCHWc layout reorders';
  const base = node.replace(/\/node(_\d+)?$/, '');
  if (OPTIMIZER.test(base)) return 'optimiser: clip, Adam(W), EMA';
  if (FLAT_STATE.test(base)) return 'flat state: parameter split, gradient concat';
  if (node.includes('/conv')) {
    if (node.includes('/conv/dx') || /\/conv\/(wT|wflip)\//.test(node)) return 'conv input gradient';
    if (node.includes('/conv/db')) return 'conv bias gradient';
    if (WEIGHT_GRAD.some((s) => node.includes(`/conv${s}`))) return 'conv weight gradient';
    return 'conv forward';
  }
  if (/\/(inorm|lnorm|group|ungroup|gamma|beta)(\/|$|_)/.test(node)) return 'group norm (fwd + bwd)';
  if (/\/(silu|sigmoid)(\/|$|_)/.test(node)) return 'SiLU (fwd + bwd)';
  if (/\/(qk|qT|scale|softmax|av|aT|flat|unflat|qkv)(\/|$|_)/.test(node)) return 'attention matmuls and softmax (fwd + bwd)';
  if (node.includes('/gemm')) return 'linear layers (fwd + bwd)';
  if (node.startsWith('temb')) return 'time embedding';
  if (node.startsWith('loss')) return 'loss';
  if (/\/(addt|out|cat|upsample|adj|dropout)(\/|$|_)|\.t\/bc/.test(node)) return 'residual adds, concat, upsample, adjoint sums';
  return 'other';
}

export interface OrtProfile {
  /** µs summed per class, as ms */
  opClassMs: Record<string, number>;
  /** ms summed per ONNX op type */
  opTypeMs: Record<string, number>;
  /** wall time of the profiled run(s), ms */
  runMs: number;
  kernels: number;
}

/** Reads a trace file, skipping the first (warm-up) run; times are per run, averaged over the rest. */
export function readOrtProfile(file: string): OrtProfile {
  const events = JSON.parse(readFileSync(file, 'utf8')) as { cat?: string; name?: string; ts?: number; dur?: number; args?: { op_name?: string } }[];
  const starts = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').map((e) => ({ ts: e.ts ?? 0, dur: e.dur ?? 0 })).sort((a, b) => a.ts - b.ts);
  if (starts.length < 2) throw new Error(`${file}: the profile needs a warm-up run and at least one more, found ${starts.length} run(s)`);
  const from = starts[1].ts;
  const runs = starts.length - 1;
  const runMs = starts.slice(1).reduce((a, r) => a + r.dur / 1000, 0);
  const cls: Record<string, number> = {};
  const ops: Record<string, number> = {};
  let kernels = 0;
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name?.endsWith('_kernel_time') || (e.ts ?? 0) < from) continue;
    const node = e.name.slice(0, -'_kernel_time'.length);
    const op = e.args?.op_name ?? '?';
    const ms = (e.dur ?? 0) / 1000;
    const c = trainGraphOpClass(node, op);
    cls[c] = (cls[c] ?? 0) + ms;
    ops[op] = (ops[op] ?? 0) + ms;
    kernels++;
  }
  const per = (o: Record<string, number>) => Object.fromEntries(Object.entries(o).sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, Math.round((v / runs) * 10) / 10]));
  return { opClassMs: per(cls), opTypeMs: per(ops), runMs: Math.round((runMs / runs) * 10) / 10, kernels: Math.round(kernels / runs) };
}
