/**
 * Electron main: lifecycle, the window, IPC wiring and the sfumato:// protocol. Domain work lives
 * in the service layer; heavy work runs in utility processes.
 */
import { app, BrowserWindow, ipcMain, net, protocol, shell } from 'electron';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ALL_CHANNELS, EVENTS, type Channel } from '../api/channels';
import { ApiError } from '../api/errors';
import type { JobProgress } from '../api/types';
import { Sfumato } from '../services/sfumato';
import { utilityLauncher } from './utility-launcher';

const mainDir = dirname(fileURLToPath(import.meta.url));
let service: Sfumato | undefined;

protocol.registerSchemesAsPrivileged([{ scheme: 'sfumato', privileges: { standard: true, secure: true, supportFetchAPI: true } }]);

function createWindow(): BrowserWindow {
  const win = new BrowserWindow({
    width: 1380,
    height: 900,
    minWidth: 1024,
    minHeight: 700,
    backgroundColor: '#16171b',
    title: 'Sfumato',
    webPreferences: {
      preload: join(mainDir, '../preload/index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
    },
  });
  // Links open in the browser, never inside the app.
  win.webContents.setWindowOpenHandler(({ url }) => {
    void shell.openExternal(url);
    return { action: 'deny' };
  });
  const devUrl = process.env.ELECTRON_RENDERER_URL;
  if (devUrl) void win.loadURL(devUrl);
  else void win.loadFile(join(mainDir, '../renderer/index.html'));
  return win;
}

async function start(): Promise<void> {
  await app.whenReady();
  service = await Sfumato.open({
    libraryPath: process.env.SFUMATO_HOME ? undefined : join(app.getPath('userData'), 'library'),
    mode: 'desktop',
    launcher: utilityLauncher(mainDir),
  });
  const s = service;

  // sfumato://library/<relative path> serves library images (validated against the library root).
  protocol.handle('sfumato', (req) => {
    const url = new URL(req.url);
    try {
      const abs = s.library.abs(decodeURIComponent(url.pathname.replace(/^\//, '')));
      return net.fetch(pathToFileURL(abs).toString());
    } catch {
      return new Response('bad path', { status: 400 });
    }
  });

  for (const channel of ALL_CHANNELS) {
    ipcMain.handle(channel, async (_event, req: unknown) => {
      try {
        const fn = s.api[channel as Channel] as (r: unknown) => Promise<unknown>;
        return { ok: true, result: await fn(req) };
      } catch (e) {
        return { ok: false, error: ApiError.from(e).toJSON() };
      }
    });
  }
  s.events.on('jobs:progress', (p: JobProgress) => {
    for (const w of BrowserWindow.getAllWindows()) w.webContents.send(EVENTS.jobProgress, p);
  });

  createWindow();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow();
  });
}

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});

let quitting = false;
app.on('before-quit', (e) => {
  if (quitting || !service) return;
  // Stop jobs (their runs become interrupted and resume later) and close the store cleanly.
  e.preventDefault();
  quitting = true;
  void service.close().finally(() => app.quit());
});

start().catch((e) => {
  console.error('Sfumato failed to start:', e);
  app.exit(1);
});
