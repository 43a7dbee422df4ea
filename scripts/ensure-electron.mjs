#!/usr/bin/env node
// `npm start` / `npm run dev`: make sure the Electron binary is present before launching.
// package.json's allowScripts keeps electron's install script from running during `npm ci` (it
// downloads the binary, which fails on machines without that network access and would break the
// whole install). Here we run that same script on first launch, where the download can work.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
let dir;
try {
  dir = dirname(require.resolve('electron/package.json'));
} catch {
  console.error('Electron is not installed. Run `npm ci` first.');
  process.exit(1);
}

function binaryPresent() {
  const pathFile = join(dir, 'path.txt');
  if (!existsSync(pathFile)) return false;
  return existsSync(join(dir, 'dist', readFileSync(pathFile, 'utf8').trim()));
}

if (!binaryPresent()) {
  console.log('Downloading the Electron binary (first launch only)…');
  const env = { ...process.env };
  delete env.ELECTRON_SKIP_BINARY_DOWNLOAD;
  const r = spawnSync(process.execPath, [join(dir, 'install.js')], { cwd: dir, env, stdio: 'inherit' });
  if (r.status !== 0 || !binaryPresent()) {
    console.error(
      'Could not download Electron. Check your internet connection (or set ELECTRON_MIRROR), then run `npm start` again.\n' +
        'Without Electron you can use the same app in a browser: `npm run web`.',
    );
    process.exit(1);
  }
}
