// Asking the core for the lines the next lock hold will write, before the hold needs them
// (DESIGN.md, "Overlapped misses"). Between processes most of a hold's time is cache misses on
// lines the peer wrote last; a load or a store meets them one after another, a write prefetch
// starts them all at once. It is a hint: nothing is read or written, so it is as safe outside the
// lock as anywhere. JavaScript cannot issue it; where the native addon loads, it does.
import { nativeAvailability, type PrefetchWrite } from '../../native';

/**
 * The environment variable that turns this process's write prefetches off (value `off`): for
 * measuring what they are worth.
 */
export const PREFETCH_ENV = 'TESSERA_SHM_PREFETCH';

function loadPrefetch(): PrefetchWrite | null {
  if (process.env[PREFETCH_ENV] === 'off') return null;
  const a = nativeAvailability();
  return a.available ? a.addon.prefetchWrite : null;
}

/** The addon's write prefetch, or null where it does not load or is turned off (callers then only read ahead). */
export const prefetchWrite: PrefetchWrite | null = loadPrefetch();

/** Whether this thread prefetches for writing. */
export const prefetchesNatively = (): boolean => prefetchWrite !== null;
