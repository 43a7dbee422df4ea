/**
 * The block size of ONNX Runtime's CPU NCHWc kernels on this machine (MLAS picks it from the CPU:
 * 16 floats with AVX-512, 8 with AVX2; other builds have no such kernels). The training graph uses
 * those kernels for its convolutions when they exist (training/onnx/autodiff.ts, nchwcBlock).
 *
 * Probed once per process with a real run: ReorderInput pads a 4-channel tensor to one block, so
 * the output's channel count is the block size. A build without the kernels fails to open the
 * probe session: 0, and the graph keeps plain Conv.
 */
import { GraphBuilder, valueInfo } from './graph';
import { DataType, encodeModel } from './proto';
import { createOrtSession } from './session';

/** ONNX Runtime's CPU contrib domain of the NCHWc (channel-blocked) kernels. */
export const NCHWC_DOMAIN = 'com.microsoft.nchwc';
let probe: Promise<number> | undefined;

export function nchwcBlockSize(): Promise<number> {
  return (probe ??= probeBlockSize());
}

async function probeBlockSize(): Promise<number> {
  const g = new GraphBuilder();
  const y = g.op('ReorderInput', ['x'], {}, 'blocked');
  g.nodes[g.nodes.length - 1].domain = NCHWC_DOMAIN;
  const graph = g.graph('sfumato_nchwc_probe', [valueInfo('x', DataType.FLOAT, [1, 4, 1, 1])], [valueInfo(y, DataType.FLOAT, ['n', 'c', 'h', 'w'])]);
  const model = encodeModel({ irVersion: 8, opsetImport: [{ domain: '', version: 17 }, { domain: NCHWC_DOMAIN, version: 1 }], producerName: 'sfumato', producerVersion: '0', graph });
  try {
    const session = await createOrtSession(model, { provider: 'cpu', strict: true, intraOpThreads: 1, reuse: false, log: () => {} });
    try {
      const out = await session.run({ x: new session.ort.Tensor('float32', new Float32Array(4), [1, 4, 1, 1]) });
      const c = Number(out[y]?.dims[1]);
      return Number.isInteger(c) && c >= 8 && (c & (c - 1)) === 0 ? c : 0;
    } finally {
      await session.dispose();
    }
  } catch {
    return 0;
  }
}
