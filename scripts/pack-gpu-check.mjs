#!/usr/bin/env node
// Prepare .gpu/ for tests/gpu/run.sh on the GPU machine (whose image may lack node and whose
// working-tree transfer is capped at 64 MiB): the check bundled into one file with tfjs inlined
// (esbuild), onnxruntime-node itself (its JS, the N-API binding and libonnxruntime xz-compressed:
// packed here, not expected there), tfjs-wasm's .wasm files, and this machine's node binary (xz).
// Run: node scripts/pack-gpu-check.mjs   (then: bash tests/gpu/run.sh, or with --tiny anywhere)
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const root = join(import.meta.dirname, '..');
const out = join(root, '.gpu');
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'node_modules'), { recursive: true });

await build({
  entryPoints: [join(root, 'tests/gpu/check.ts')],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outfile: join(out, 'check.mjs'),
  external: ['webgpu', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'onnxruntime-node'],
  // the check imports onnxruntime-node through onnx/session.ts's dynamic import: it stays a package
  // One tfjs-core for every tfjs package: prefer their ESM builds (the CJS ones pull a second copy).
  mainFields: ['module', 'main'],
  // CommonJS globals some bundled packages (emscripten glue) expect.
  banner: {
    js: "import { createRequire as __cr } from 'node:module'; import { fileURLToPath as __fu } from 'node:url'; import { dirname as __dn } from 'node:path'; const require = __cr(import.meta.url); const __filename = __fu(import.meta.url); const __dirname = __dn(__filename);",
  },
  logLevel: 'warning',
});
// tfjs-backend-wasm loads its .wasm files from disk next to the module
const wasmDist = join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');
mkdirSync(join(out, 'node_modules/@tensorflow/tfjs-backend-wasm/dist'), { recursive: true });
for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']) {
  cpSync(join(wasmDist, f), join(out, 'node_modules/@tensorflow/tfjs-backend-wasm/dist', f));
}
cpSync(join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/package.json'), join(out, 'node_modules/@tensorflow/tfjs-backend-wasm/package.json'));

// onnxruntime-node: JS + binding as they are; the big shared libraries xz-compressed (run.sh
// unpacks them), the CUDA provider libraries too when this machine has the opt-in add-on.
const ortRoot = join(root, 'node_modules/onnxruntime-node');
const ortOut = join(out, 'node_modules/onnxruntime-node');
const binRel = 'bin/napi-v6/linux/x64';
mkdirSync(join(ortOut, binRel), { recursive: true });
cpSync(join(ortRoot, 'package.json'), join(ortOut, 'package.json'));
cpSync(join(ortRoot, 'dist'), join(ortOut, 'dist'), { recursive: true });
const packed = [];
for (const f of readdirSync(join(ortRoot, binRel))) {
  const src = join(ortRoot, binRel, f);
  if (f.endsWith('.node')) cpSync(src, join(ortOut, binRel, f));
  else {
    execFileSync('sh', ['-c', `xz -T2 -6 -c "${src}" > "${join(ortOut, binRel, f)}.xz"`]);
    packed.push(f);
  }
}
const common = join(root, 'node_modules/onnxruntime-common');
cpSync(join(common, 'package.json'), join(out, 'node_modules/onnxruntime-common/package.json'));
cpSync(join(common, 'dist'), join(out, 'node_modules/onnxruntime-common/dist'), { recursive: true });
console.log(`onnxruntime-node: ${packed.join(', ')} (xz)${packed.some((f) => f.includes('cuda')) ? '' : '; no CUDA provider library here: the check measures WebGPU and CPU'}`);

execFileSync('sh', ['-c', `xz -T2 -6 -c "${process.execPath}" > "${join(out, 'node.xz')}"`]);
console.log(execFileSync('du', ['-sh', out], { encoding: 'utf8' }).trim());
