import { PairFifo } from './pair-fifo';

/**
 * Keys due at deadlines that arrive in order (one fixed delay for everyone,
 * so the head is always due first): a PairFifo of key and deadline, with
 * no object and no timer per key. The owner decides when to drain: its own
 * timer (DeadlineQueue) or a tick it already has (presence's resume windows
 * and the memory presence store's graces).
 */
export class DeadlineFifo<K = string> {
  private readonly fifo = new PairFifo<K, number>();

  get length(): number {
    return this.fifo.length;
  }

  /** The head's deadline; +Infinity when empty. */
  get next(): number {
    return this.fifo.peekSecond() ?? Number.POSITIVE_INFINITY;
  }

  push(key: K, deadline: number): void {
    this.fifo.push(key, deadline);
  }

  /** Hands every key whose deadline has passed to `due`, oldest first (it checks whether the key still matters). */
  drain(now: number, due: (key: K, deadline: number) => void): void {
    while (this.next <= now) this.fifo.shift(due);
  }
}
