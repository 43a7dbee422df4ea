#!/usr/bin/env node
// `npm start` / `npm run dev`: make sure the Electron binary is present (and its fuses set) before
// launching.
// Electron >= 42 has no install script: `npm ci` installs only the small npm package, with no
// download (so it works on machines that cannot reach GitHub), and the binary comes from the
// package's own install.js (@electron/get: GitHub, or ELECTRON_MIRROR; cached under the user's
// cache folder). Here we run that script on first launch, and again after an Electron upgrade
// (dist/version no longer matches the package), where the download can work.
// (package.json's allowScripts keeps `"electron": false` so that an Electron with an install
// script, such as <= 41, still never downloads during `npm ci`.)
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
let dir;
try {
  dir = dirname(require.resolve('electron/package.json'));
} catch {
  console.error('Electron is not installed (no node_modules/electron). Run `npm ci` first.');
  process.exit(1);
}
const version = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version;

function read(file) {
  try {
    return readFileSync(join(dir, file), 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** The binary of THIS Electron version is there (not one left from before an upgrade). */
function binaryPresent() {
  const exe = read('path.txt');
  if (!exe || !existsSync(join(dir, 'dist', exe))) return false;
  return read(join('dist', 'version'))?.replace(/^v/, '') === version;
}

if (!binaryPresent()) {
  console.log(`Downloading the Electron ${version} binary (first launch only)…`);
  const env = { ...process.env };
  delete env.ELECTRON_SKIP_BINARY_DOWNLOAD;
  const r = spawnSync(process.execPath, [join(dir, 'install.js')], { cwd: dir, env, stdio: 'inherit' });
  if (r.status !== 0 || !binaryPresent()) {
    console.error(
      `Could not download Electron ${version} into ${join(dir, 'dist')}. Check your internet connection (or set ELECTRON_MIRROR), then run \`npm start\` again.\n` +
        'Without Electron you can use the same app in a browser: `npm run web`.',
    );
    process.exit(1);
  }
}

// Fuses (RunAsNode off, cookie encryption on, …): see scripts/flip-fuses.mjs. A failure is
// reported but does not stop the launch: the app itself works with the binary's defaults.
const fuses = spawnSync(process.execPath, [join(import.meta.dirname, 'flip-fuses.mjs')], { stdio: 'inherit' });
if (fuses.status !== 0) console.error('Warning: Electron starts with its default fuses (see the message above).');
