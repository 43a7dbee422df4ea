import { defineStore } from 'pinia';
import { getCurrentScope, onScopeDispose, ref, shallowRef, watchEffect } from 'vue';
import { api, transport } from '../api';
import { useJobProgress } from '../composables/useJobProgress';
import { applyProgress, endNotice, isLongJob, shouldAskPermission, shouldNotify, titleFor, type ActiveJob, type EndNotice, type EndedJob, type TitleBadge } from '../lib/jobActivity';
import { useNavStore } from './nav';
import { useRunsStore } from './runs';
import { useSampleStore } from './sample';
import { useUiStore } from './ui';
import type { JobProgress } from '../../../src-main/api/types';

/** localStorage key: the browser said no to notifications once; the app never asks again. */
export const NOTIFY_DECLINED_KEY = 'sfumato-notify-declined';
/** How often the list of jobs is checked against the service while some are shown (a missed final event). */
const RECONCILE_MS = 15_000;

function notificationApi(): typeof Notification | undefined {
  return typeof Notification === 'function' ? Notification : undefined;
}

function readDeclined(): boolean {
  try {
    return localStorage.getItem(NOTIFY_DECLINED_KEY) === '1';
  } catch {
    return false;
  }
}

/** The user is elsewhere: the tab is hidden or the window does not have focus. */
function away(): boolean {
  return document.visibilityState === 'hidden' || !document.hasFocus();
}

/**
 * Training and sampling jobs, app-wide: the nav rail's indicator, the window title badge, a toast
 * when a job ends (with "Sample this run" / "Open in gallery"), and a desktop notification when a
 * long job ends while the user is elsewhere. Desktop: the app's permission handler grants
 * notifications to the app itself. Web mode: the browser's permission is offered on the first long
 * job (never on page load); a "no" is remembered in this browser.
 */
export const useJobsStore = defineStore('jobs', () => {
  const ui = useUiStore();
  const nav = useNavStore();
  const byId = new Map<string, ActiveJob>();
  const jobs = shallowRef<ActiveJob[]>([]);
  const badge = ref<TitleBadge>(null);
  const baseTitle = document.title || 'Sfumato';
  let askedThisSession = false;

  function publish(): void {
    jobs.value = [...byId.values()];
  }

  function onEvent(p: JobProgress): void {
    const now = Date.now();
    const ended = applyProgress(byId, p, now);
    publish();
    if (ended) onEnded(ended, now);
    else maybeAsk(byId.get(p.jobId), now);
  }
  useJobProgress(() => true, onEvent);

  // ---- what the user sees when a job ends

  async function act(action: EndNotice['action'], e: Pick<EndedJob, 'runId'>): Promise<void> {
    if (action === 'sample-run' && e.runId) {
      const sample = useSampleStore();
      // The Sample page keeps a source that its refreshed list still offers.
      sample.form.source = `run:${e.runId}`;
      await sample.refresh();
      nav.go('sample');
    } else if (action === 'open-gallery') {
      nav.go('gallery');
    } else if (action === 'open-run' && e.runId) {
      nav.go('train');
      await useRunsStore().select(e.runId);
    }
  }

  const ACTION_LABEL: Record<NonNullable<EndNotice['action']>, string> = {
    'sample-run': 'Sample this run',
    'open-gallery': 'Open in gallery',
    'open-run': 'Open run',
  };

  function onEnded(e: EndedJob, now: number): void {
    const notice = endNotice(e);
    if (!notice) return;
    const elsewhere = away();
    // The page that shows a job's result already says how it went: no toast there.
    const onItsPage = e.kind === 'sample' ? nav.page === 'sample' || nav.page === 'home' : notice.kind === 'info' && nav.page === 'train';
    if (elsewhere || !onItsPage) {
      const action = notice.action;
      ui.toast(notice.text, {
        kind: notice.kind,
        ms: notice.kind === 'error' ? 15_000 : 10_000,
        ...(action ? { action: { label: ACTION_LABEL[action], run: () => act(action, e) } } : {}),
      });
    }
    if (elsewhere && notice.badge && badge.value !== 'failed') badge.value = notice.badge;
    const N = notificationApi();
    if (N && shouldNotify({ long: isLongJob(e, now), away: elsewhere, permission: N.permission })) {
      try {
        const n = new N(notice.title, { body: notice.body, tag: e.jobId });
        n.onclick = () => {
          window.focus();
          n.close();
          if (notice.action) void act(notice.action, e);
        };
      } catch {
        /* a browser that only allows notifications from a service worker: the toast and title remain */
      }
    }
  }

  // ---- the browser's notification permission (web mode)

  function maybeAsk(job: ActiveJob | undefined, now: number): void {
    const N = notificationApi();
    if (!job || !N) return;
    if (!shouldAskPermission({ transport, permission: N.permission, declined: readDeclined(), askedThisSession, longJob: isLongJob(job, now) })) return;
    askedThisSession = true;
    // Browsers only show their prompt after a click: the toast's button is that click.
    ui.toast('This job will take a while. Get a desktop notification when it ends?', {
      ms: 20_000,
      action: {
        label: 'Notify me',
        run: async () => {
          const answer = await N.requestPermission();
          if (answer === 'denied') {
            try {
              localStorage.setItem(NOTIFY_DECLINED_KEY, '1');
            } catch {
              /* private mode: not asked again in this session anyway */
            }
          } else if (answer === 'granted') {
            ui.toast('Notifications on: you will hear when long jobs end.', { kind: 'ok' });
          }
        },
      },
    });
  }

  // ---- the window title

  watchEffect(() => {
    document.title = titleFor(jobs.value, badge.value, baseTitle);
  });
  const clearBadge = () => {
    if (!away()) badge.value = null;
  };
  window.addEventListener('focus', clearBadge);
  document.addEventListener('visibilitychange', clearBadge);

  // ---- jobs already running when the page opened, and final events missed while disconnected

  async function reconcile(initial: boolean): Promise<void> {
    // Only jobs known before the request can be stale: one announced while it was in flight is
    // missing from the answer because the answer predates it.
    const known = new Set(byId.keys());
    let list;
    try {
      list = (await api['jobs:list']({})).jobs;
    } catch {
      return; // the next event or check tries again
    }
    const live = new Set(list.map((j) => j.id));
    let changed = false;
    for (const id of [...byId.keys()]) {
      if (known.has(id) && !live.has(id)) {
        byId.delete(id);
        changed = true;
      }
    }
    if (initial) {
      for (const j of list) {
        if ((j.kind !== 'train' && j.kind !== 'sample') || (j.state !== 'queued' && j.state !== 'running') || byId.has(j.id) || j.runId === 'estimate') continue;
        const since = Date.parse(j.startedAt);
        byId.set(j.id, { jobId: j.id, kind: j.kind, state: j.state, done: -1, total: 0, runId: j.runId, since: Number.isFinite(since) ? since : Date.now() });
        changed = true;
      }
    }
    if (changed) publish();
  }
  void reconcile(true);
  const timer = setInterval(() => {
    if (byId.size > 0) void reconcile(false);
  }, RECONCILE_MS);

  if (getCurrentScope()) {
    onScopeDispose(() => {
      clearInterval(timer);
      window.removeEventListener('focus', clearBadge);
      document.removeEventListener('visibilitychange', clearBadge);
    });
  }

  /** Go to where a running job is shown: the run on the Train page, or the Sample page. */
  async function open(job: ActiveJob): Promise<void> {
    if (job.kind === 'train' && job.runId) await act('open-run', job);
    else nav.go('sample');
  }

  return { jobs, badge, open };
});
