#!/usr/bin/env node
// Electron fuses: features compiled into the Electron binary that can only be switched by
// rewriting bytes in the binary (https://www.electronjs.org/docs/latest/tutorial/fuses).
// `node scripts/flip-fuses.mjs [ELECTRON_BINARY]` sets the ones that fit Sfumato; without an
// argument it targets the development binary that `npm start` / `npm run dev` launch
// (node_modules/electron/dist). scripts/ensure-electron.mjs runs it after every download. It only
// writes when a fuse differs, so it is cheap to run on every launch.
//
//   RunAsNode                              off  ELECTRON_RUN_AS_NODE cannot turn the app into a
//                                               plain Node (job processes use utilityProcess,
//                                               which does not need it)
//   EnableCookieEncryption                 on   cookies on disk encrypted with the OS key store
//   EnableNodeOptionsEnvironmentVariable   off  NODE_OPTIONS cannot inject code into main
//   EnableNodeCliInspectArguments          off  --inspect cannot attach a debugger to main
//   GrantFileProtocolExtraPrivileges       off  the renderer comes from sfumato://app, file://
//                                               needs no privileges beyond a browser's
//   EnableEmbeddedAsarIntegrityValidation  left as shipped (off): needs an app.asar with an
//   OnlyLoadAppFromAsar                    integrity hash, i.e. a packaged app; Sfumato has no
//                                          packaging step yet and runs out/ as loose files
//
// SFUMATO_ELECTRON_DEBUG=1 switches NODE_OPTIONS and --inspect back on (for debugging main with
// `npm run dev`); the next launch without it switches them off again.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';

const debug = process.env.SFUMATO_ELECTRON_DEBUG === '1';

/** Fuse name (as in @electron/fuses' FuseV1Options) -> wanted state. */
const WANTED = {
  RunAsNode: false,
  EnableCookieEncryption: true,
  EnableNodeOptionsEnvironmentVariable: debug,
  EnableNodeCliInspectArguments: debug,
  GrantFileProtocolExtraPrivileges: false,
};

function fail(message) {
  console.error(message);
  process.exit(1);
}

function devBinary() {
  const require = createRequire(import.meta.url);
  let dir;
  try {
    dir = dirname(require.resolve('electron/package.json'));
  } catch {
    fail('flip-fuses: Electron is not installed (no node_modules/electron). Run `npm ci` first.');
  }
  const pathFile = join(dir, 'path.txt');
  if (!existsSync(pathFile)) fail(`flip-fuses: the Electron binary is not downloaded yet (no ${pathFile}). Run \`npm start\`, which downloads it.`);
  return join(dir, 'dist', readFileSync(pathFile, 'utf8').trim());
}

const target = process.argv[2] ? resolve(process.argv[2]) : devBinary();
if (!existsSync(target)) fail(`flip-fuses: no Electron binary at ${target}.`);

let fuses;
try {
  fuses = await import('@electron/fuses');
} catch (e) {
  fail(`flip-fuses: cannot load @electron/fuses (${e.message}). It is a dev dependency: run \`npm ci\`.`);
}
const { FuseState, FuseV1Options, FuseVersion, flipFuses, getCurrentFuseWire } = fuses;

let current;
try {
  current = await getCurrentFuseWire(target);
} catch (e) {
  fail(`flip-fuses: cannot read the fuses of ${target}: ${e.message}`);
}
const wireLength = Object.keys(current).filter((k) => /^\d+$/.test(k)).length;

const config = { version: FuseVersion.V1 };
const changes = [];
for (const [name, on] of Object.entries(WANTED)) {
  const index = FuseV1Options[name];
  if (index === undefined || index >= wireLength || current[index] === FuseState.REMOVED) continue; // not in this Electron
  config[index] = on;
  if (current[index] !== (on ? FuseState.ENABLE : FuseState.DISABLE)) changes.push(`${name} ${on ? 'on' : 'off'}`);
}
if (changes.length === 0) process.exit(0);

try {
  // An arm64 macOS binary must be re-signed (ad hoc) after its bytes change, or it will not start.
  config.resetAdHocDarwinSignature = process.platform === 'darwin' && process.arch === 'arm64';
  await flipFuses(target, config);
} catch (e) {
  fail(`flip-fuses: could not write the fuses of ${target}: ${e.message}. Check that the file is writable, or delete node_modules/electron/dist and run \`npm start\` again.`);
}
console.log(`Electron fuses set on ${target}: ${changes.join(', ')}.`);
