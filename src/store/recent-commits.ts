// Which commits the etcd store has seen lately, by the token each commit carries: how a writer
// whose answer was lost learns whether its transaction landed (etcd.ts, commit()).

/**
 * Enough to cover every commit made anywhere while one of ours waits to learn its outcome (the
 * etcd client's few retries), at hundreds of commits a second.
 */
const REMEMBERED_COMMITS = 10_000;

export class RecentCommits {
  /** Commit token → revision it was committed at, oldest first. */
  private readonly byToken = new Map<string, bigint>();

  seen(token: string, revision: bigint): void {
    this.byToken.set(token, revision);
    if (this.byToken.size > REMEMBERED_COMMITS) this.byToken.delete(this.byToken.keys().next().value as string);
  }

  /** The revision `token` was committed at, if it is among the latest commits seen. */
  revisionOf(token: string): bigint | undefined {
    return this.byToken.get(token);
  }
}
