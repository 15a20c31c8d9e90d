// A sorted list of ids kept by binary search: a view over 100,000 datasets inserts or removes the
// ids a change touched instead of sorting them all again.
import { byId } from '../../model/convergence.js';
import { lowerBound } from '../../model/sorted.js';

/** Where `id` is, or would go, in the sorted `ids`. */
export function position(ids: readonly string[], id: string): { readonly at: number; readonly found: boolean } {
  const at = lowerBound(ids, (x) => byId(x, id) < 0);
  return { at, found: ids[at] === id };
}
