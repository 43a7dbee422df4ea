/**
 * The desktop shell's security decisions, as small pure functions (no `electron` import) so that
 * Vitest can pin them in Node; main.ts wires them into Electron. Covers the Electron security
 * checklist items that are decisions rather than settings: which URLs may go to the system
 * browser, where a window may navigate, which frames may call IPC, which permission requests are
 * granted.
 */

/** The app's own privileged scheme: the renderer and the library images come from it. */
export const APP_SCHEME = 'sfumato';
/** Origin of the packaged renderer (sfumato://app/index.html); library files are under /library/. */
export const APP_ORIGIN = `${APP_SCHEME}://app`;
export const APP_ENTRY_URL = `${APP_ORIGIN}/index.html`;

/**
 * Origin of a URL as Chromium computes it for standard schemes: scheme://host[:port], lowercase.
 * (Node's URL gives `origin === 'null'` for schemes it does not know, such as sfumato:, so it is
 * computed by hand.) undefined for anything unparsable or without a host (file:, about:, data:).
 */
export function originOf(url: string | undefined | null): string | undefined {
  if (!url) return undefined;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  if (!u.host || u.protocol === 'file:') return undefined;
  return `${u.protocol}//${u.host}`.toLowerCase();
}

/**
 * The origins whose pages may use the preload API and navigate the window: the app's own scheme,
 * plus the Vite dev server while `electron-vite dev` runs (ELECTRON_RENDERER_URL, loopback only).
 */
export function trustedOrigins(devServerUrl?: string): ReadonlySet<string> {
  const set = new Set<string>([APP_ORIGIN]);
  const dev = originOf(devServerUrl);
  if (dev) {
    const host = new URL(devServerUrl!).hostname;
    if (host === 'localhost' || host === '127.0.0.1' || host === '[::1]') set.add(dev);
  }
  return set;
}

export function isTrustedUrl(url: string | undefined | null, trusted: ReadonlySet<string>): boolean {
  const o = originOf(url);
  return o !== undefined && trusted.has(o);
}

/**
 * URLs that may be handed to shell.openExternal: plain http(s) web pages only. Everything else
 * (file:, smb:, custom app schemes, javascript:, data:) could run or open local things.
 */
export function isSafeExternalUrl(url: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '' && !u.username && !u.password;
}

export type NavigationDecision = { allow: true } | { allow: false; openExternal: boolean };

/**
 * `will-navigate` / `will-redirect` / `will-frame-navigate`: the window stays on the app. A link or
 * a dropped file that would navigate elsewhere (and keep the preload API on a foreign page) is
 * stopped; a web link opens in the system browser instead.
 */
export function navigationDecision(targetUrl: string, trusted: ReadonlySet<string>): NavigationDecision {
  if (isTrustedUrl(targetUrl, trusted)) return { allow: true };
  return { allow: false, openExternal: isSafeExternalUrl(targetUrl) };
}

/** What the app's own pages may use; everything else is denied to every page. */
const APP_PERMISSIONS: ReadonlySet<string> = new Set([
  // the gallery's "copy seed" button; this permission can only write, never read
  'clipboard-sanitized-write',
  // "training finished" while the window is in the background: the renderer's web Notification
  // (one code path with web mode; the text is the app's own, never a page's)
  'notifications',
]);

/**
 * Permission requests and checks (session.setPermissionRequestHandler / setPermissionCheckHandler):
 * denied, except clipboard writes and notifications from the app itself.
 */
export function permissionDecision(permission: string, requestingUrl: string | undefined, trusted: ReadonlySet<string>): boolean {
  return APP_PERMISSIONS.has(permission) && isTrustedUrl(requestingUrl, trusted);
}

/**
 * Content-Security-Policy sent with the renderer's HTML from sfumato://app (on top of the meta
 * tag in src-renderer/index.html; the browser enforces both). Desktop needs no WebSocket and no
 * images from other origins: the library is served from the same origin.
 */
export const DESKTOP_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "worker-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-src 'none'",
  "frame-ancestors 'none'",
].join('; ');
