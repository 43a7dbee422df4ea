/**
 * The syntax of the app's ids: a short lowercase prefix, `_`, then base-36 characters (`smp_…`,
 * `ckpt_…`; db/ids.ts `newId` makes them, and re-exports these). Pure, so the contract's
 * schemas and the renderer can use it too.
 */
export type IdPrefix = 'ds' | 'item' | 'run' | 'ckpt' | 'smp' | 'job' | 'col' | 'model' | 'grid' | 'preset';

/** Any id: a prefix of 1–8 lowercase letters, `_`, 1–64 lowercase letters or digits. */
export const ID_RE = /^[a-z]{1,8}_[0-9a-z]{1,64}$/;

/** Whether `s` is an id with this prefix (`isId('smp', 'smp_3k9…')`). */
export function isId(prefix: IdPrefix, s: unknown): s is string {
  return typeof s === 'string' && s.startsWith(`${prefix}_`) && ID_RE.test(s);
}
