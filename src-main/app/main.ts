/**
 * Electron main: lifecycle, the window, IPC wiring and the sfumato:// protocol. Domain work lives
 * in the service layer; heavy work runs in utility processes. The security decisions are in
 * security.ts, the protocol handler in app-protocol.ts and the IPC table in ipc.ts (plain modules,
 * unit-tested without Electron); this file only connects them to Electron's hooks.
 */
import { app, BrowserWindow, ipcMain, protocol, session, shell, type WebContents } from 'electron';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EVENTS } from '../api/channels';
import type { JobProgress } from '../api/types';
import { Sfumato } from '../services/sfumato';
import { handleAppRequest } from './app-protocol';
import { buildIpcHandlers } from './ipc';
import { APP_ENTRY_URL, APP_SCHEME, isSafeExternalUrl, isTrustedUrl, navigationDecision, permissionDecision, trustedOrigins } from './security';
import { utilityLauncher } from './utility-launcher';

const mainDir = dirname(fileURLToPath(import.meta.url));
let service: Sfumato | undefined;

// The Vite dev server (electron-vite dev) is trusted only when it is on loopback.
const devUrl = process.env.ELECTRON_RENDERER_URL;
const trusted = trustedOrigins(devUrl);

// Before app ready: the app's own scheme is standard (relative URLs, its own origin), secure
// (a secure context like https), fetchable and streamable. Not corsEnabled and not bypassCSP:
// other origins cannot read it, and the page's CSP applies to it.
protocol.registerSchemesAsPrivileged([
  { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, stream: true, codeCache: true } },
]);
// Every renderer sandboxed, whatever its webPreferences say.
app.enableSandbox();

function openExternal(url: string): void {
  if (isSafeExternalUrl(url)) void shell.openExternal(url);
  else console.warn(`Sfumato did not open ${JSON.stringify(url)}: only http and https links go to the browser.`);
}

/** Guards for every web contents the app ever creates (windows, and any frame that slips in). */
function harden(contents: WebContents): void {
  // Links that want a new window open in the browser (http/https only), never inside the app.
  contents.setWindowOpenHandler(({ url }) => {
    openExternal(url);
    return { action: 'deny' };
  });
  // A clicked link, a dropped file or a redirect must not move the window (and the preload API)
  // to another page.
  const guard = (e: { preventDefault(): void }, url: string) => {
    const d = navigationDecision(url, trusted);
    if (d.allow) return;
    e.preventDefault();
    if (d.openExternal) openExternal(url);
  };
  contents.on('will-navigate', (e) => guard(e, e.url));
  contents.on('will-redirect', (e) => guard(e, e.url));
  contents.on('will-frame-navigate', (e) => {
    if (!e.isMainFrame) guard(e, e.url);
  });
  // The app has no <webview>; none may be attached.
  contents.on('will-attach-webview', (e) => e.preventDefault());
}

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
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
    },
  });
  void win.loadURL(devUrl ?? APP_ENTRY_URL);
  return win;
}

async function start(): Promise<void> {
  await app.whenReady();

  // No page gets a permission it asks for, except clipboard writes and notifications from the app itself.
  session.defaultSession.setPermissionRequestHandler((wc, permission, callback, details) => {
    callback(permissionDecision(permission, details.requestingUrl ?? wc.getURL(), trusted));
  });
  session.defaultSession.setPermissionCheckHandler((_wc, permission, requestingOrigin) => permissionDecision(permission, requestingOrigin, trusted));

  service = await Sfumato.open({
    libraryPath: process.env.SFUMATO_HOME ? undefined : join(app.getPath('userData'), 'library'),
    mode: 'desktop',
    launcher: utilityLauncher(mainDir),
  });
  const s = service;

  // sfumato://app/ is the built renderer; sfumato://app/library/<rel> serves library images/JSON.
  const rendererDir = join(mainDir, '../renderer');
  protocol.handle(APP_SCHEME, (req) => handleAppRequest(req, { rendererDir, library: s.library }));

  // Only frames of the app itself may call the contract.
  for (const [channel, handler] of buildIpcHandlers(s.api, (url) => isTrustedUrl(url, trusted))) {
    ipcMain.handle(channel, (event, req: unknown) => handler(event.senderFrame?.url, req));
  }
  s.events.on('jobs:progress', (p: JobProgress) => {
    for (const w of BrowserWindow.getAllWindows()) w.webContents.send(EVENTS.jobProgress, p);
  });

  createWindow();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow();
  });
}

app.on('web-contents-created', (_e, contents) => harden(contents));

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
