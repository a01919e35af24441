/**
 * Keys due at deadlines that arrive in order (one fixed delay for everyone,
 * so the head is always due first): two flat arrays and a head index, with
 * no object and no timer per key. The owner decides when to drain: its own
 * timer (DeadlineQueue) or a tick it already has (presence's resume windows
 * and the memory presence store's graces).
 */
export class DeadlineFifo<K = string> {
  private keys: K[] = [];
  private deadlines: number[] = [];
  private head = 0;

  get length(): number {
    return this.keys.length - this.head;
  }

  /** The head's deadline; +Infinity when empty. */
  get next(): number {
    return this.head < this.keys.length ? this.deadlines[this.head] : Number.POSITIVE_INFINITY;
  }

  push(key: K, deadline: number): void {
    this.keys.push(key);
    this.deadlines.push(deadline);
  }

  /** Hands every key whose deadline has passed to `due`, oldest first (it checks whether the key still matters). */
  drain(now: number, due: (key: K, deadline: number) => void): void {
    while (this.head < this.keys.length && this.deadlines[this.head] <= now) {
      const key = this.keys[this.head];
      const deadline = this.deadlines[this.head];
      this.head++;
      due(key, deadline);
    }
    // Drop the consumed prefix when empty, or once it is most of the arrays (amortised O(1)).
    if (this.head === this.keys.length) {
      this.keys = [];
      this.deadlines = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.keys.length) {
      this.keys = this.keys.slice(this.head);
      this.deadlines = this.deadlines.slice(this.head);
      this.head = 0;
    }
  }
}
