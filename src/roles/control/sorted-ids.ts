// A sorted list of ids kept by binary search: a view over 100,000 datasets inserts or removes the
// ids a change touched instead of sorting them all again.
import { byId } from '../../model/convergence.js';

/** Where `id` is, or would go, in the sorted `ids`. */
export function position(ids: readonly string[], id: string): { readonly at: number; readonly found: boolean } {
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (byId(ids[mid] as string, id) < 0) lo = mid + 1;
    else hi = mid;
  }
  return { at: lo, found: ids[lo] === id };
}
