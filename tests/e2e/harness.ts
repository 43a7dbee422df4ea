/**
 * What every browser test starts from: a built renderer, a fresh library, the real service in web
 * mode on a free port, and Debian's Chromium (playwright-core) with a page that records console
 * errors and uncaught exceptions.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { TrainConfig } from '../../src-main/api/types';
import { Sfumato } from '../../src-main/services/sfumato';
import { startWebServer, type WebServer } from '../../src-main/server/http';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const RESULTS = join(ROOT, 'test-results');
export const CHROMIUM = '/usr/bin/chromium';
/** Headless, no sandbox (root), and no background networking (the machine's network is closed). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A UNet small enough to train `steps` steps in seconds in the e2e tests (one checkpoint at the end). */
export function tinyTrainConfig(steps: number): Partial<TrainConfig> {
  return { steps, batchSize: 4, baseChannels: 8, channelMults: [1, 2], attentionResolutions: [], resBlocks: 1, groups: 4, checkpointEvery: steps, previewEvery: 0, backend: 'auto' };
}

export interface Studio {
  libraryDir: string;
  service: Sfumato;
  server: WebServer;
  browser: Browser;
  context: BrowserContext;
  page: Page;
}

export async function startStudio(prefix: string, viewport: { width: number; height: number }, consoleErrors: string[]): Promise<Studio> {
  if (!existsSync(join(ROOT, 'out', 'renderer', 'index.html'))) execFileSync('npx', ['electron-vite', 'build'], { cwd: ROOT, stdio: 'inherit' });
  mkdirSync(RESULTS, { recursive: true });
  const libraryDir = await mkdtemp(join(tmpdir(), prefix));
  const service = await Sfumato.open({ libraryPath: libraryDir, mode: 'web' });
  const server = await startWebServer(service, { port: 0 });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.on('console', (msg) => {
    if (msg.type() === 'error') consoleErrors.push(`${msg.text()} (${msg.location().url})`);
  });
  page.on('pageerror', (err) => consoleErrors.push(`uncaught: ${err.message}`));
  return { libraryDir, service, server, browser, context, page };
}
