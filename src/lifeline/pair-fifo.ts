/**
 * A FIFO of pairs in two flat arrays and a head index: no object per entry
 * (a connection storm queues one per client). Taken entries are cleared at
 * once and the consumed prefix is dropped when the queue empties, or once it
 * is most of the arrays (amortised O(1)). DeadlineFifo and FrameSlices are
 * built on it.
 */
export class PairFifo<A, B> {
  private firsts: (A | undefined)[] = [];
  private seconds: (B | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.firsts.length - this.head;
  }

  push(first: A, second: B): void {
    this.firsts.push(first);
    this.seconds.push(second);
  }

  /** The oldest pair's second value; undefined when empty. */
  peekSecond(): B | undefined {
    return this.head < this.firsts.length ? this.seconds[this.head] : undefined;
  }

  /** Removes the oldest pair and hands it to `take`; false when empty. */
  shift(take: (first: A, second: B) => void): boolean {
    if (this.head === this.firsts.length) return false;
    const i = this.head++;
    const first = this.firsts[i] as A;
    const second = this.seconds[i] as B;
    // Let go of them at once: the arrays are dropped or compacted below.
    this.firsts[i] = undefined;
    this.seconds[i] = undefined;
    this.compact();
    take(first, second);
    return true;
  }

  private compact(): void {
    if (this.head === this.firsts.length) {
      this.firsts = [];
      this.seconds = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.firsts.length) {
      this.firsts = this.firsts.slice(this.head);
      this.seconds = this.seconds.slice(this.head);
      this.head = 0;
    }
  }
}
