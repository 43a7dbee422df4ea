#!/usr/bin/env node
// Prepare .gpu/ for tests/gpu/run.sh on the GPU machine (whose image may lack node and whose
// working-tree transfer is capped at 64 MiB): the check bundled into one file with tfjs inlined
// (esbuild), Dawn's webgpu package for linux-x64, this machine's node binary (xz), and the demo
// emoji prepared at 32 px.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const root = join(import.meta.dirname, '..');
const out = join(root, '.gpu');
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'node_modules', 'webgpu', 'dist'), { recursive: true });

await build({
  entryPoints: [join(root, 'tests/gpu/check.ts')],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outfile: join(out, 'check.mjs'),
  external: ['webgpu', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'onnxruntime-node'],
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
const wg = join(root, 'node_modules/webgpu');
for (const f of ['index.js', 'package.json']) cpSync(join(wg, f), join(out, 'node_modules/webgpu', f));
cpSync(join(wg, 'dist/linux-x64'), join(out, 'node_modules/webgpu/dist/linux-x64'), { recursive: true });
if (existsSync(join(wg, 'node_modules'))) cpSync(join(wg, 'node_modules'), join(out, 'node_modules/webgpu/node_modules'), { recursive: true });

// Demo data: the bundled emoji folder prepared exactly as an import would.
const { importFolder } = await import('../src-main/datasets/import.ts');
const { readCache } = await import('../src-main/datasets/cache.ts');
const tmp = join(out, 'tmp');
await importFolder(join(root, 'models/demo-dataset'), { size: 32, thumbDir: join(tmp, 'thumbs'), cachePath: join(tmp, 'cache.bin') });
writeFileSync(join(out, 'demo-32.bin'), (await readCache(join(tmp, 'cache.bin'))).pixels);
rmSync(tmp, { recursive: true, force: true });

execFileSync('sh', ['-c', `xz -T2 -6 -c "${process.execPath}" > "${join(out, 'node.xz')}"`]);
console.log(execFileSync('du', ['-sh', out], { encoding: 'utf8' }).trim());
