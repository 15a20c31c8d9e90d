// The one binary search over sorted arrays (ids, rows, entries in node order): views over
// 100,000 datasets put each change in its place instead of sorting everything again.

/** The first index in `sorted` whose item `before` says does not come before the one sought. */
export function lowerBound<T>(sorted: readonly T[], before: (item: T) => boolean): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (before(sorted[mid] as T)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
