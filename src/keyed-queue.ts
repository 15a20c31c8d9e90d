// Work on one thing (a dataset, a volume name) must not interleave with other work on the same
// thing, while work on different things runs freely: one queue per key, forgotten once empty.

export class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Runs `f` once every earlier call with `key` has settled (whether it succeeded or failed). */
  run<T>(key: string, f: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const mine = previous.then(f, f);
    const tail = mine.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return mine;
  }
}
