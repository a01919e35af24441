/**
 * Deadlines of many clients in one structure: a binary min-heap of
 * (epoch ms, client id), so the earliest is always at the top and one timer
 * follows it (like the heartbeat's pong FIFO, but tokens expire in any order,
 * so a heap rather than a queue). Ids rather than records: an entry whose
 * client has left keeps nothing alive, and is dropped when it surfaces or at
 * the next compaction.
 */
export class ExpiryHeap {
  private at: number[] = [];
  private ids: string[] = [];

  get size(): number {
    return this.at.length;
  }

  push(at: number, id: string): void {
    this.at.push(at);
    this.ids.push(id);
    this.up(this.at.length - 1);
  }

  /** The earliest deadline; NaN when empty. */
  peekAt(): number {
    return this.at.length > 0 ? this.at[0] : Number.NaN;
  }

  peekId(): string | undefined {
    return this.ids[0];
  }

  pop(): void {
    const last = this.at.length - 1;
    if (last < 0) return;
    this.at[0] = this.at[last];
    this.ids[0] = this.ids[last];
    this.at.pop();
    this.ids.pop();
    if (last > 0) this.down(0);
  }

  /** Keeps only the entries `keep` says yes to; O(n). */
  retain(keep: (at: number, id: string) => boolean): void {
    const at: number[] = [];
    const ids: string[] = [];
    for (let i = 0; i < this.at.length; i++) {
      if (!keep(this.at[i], this.ids[i])) continue;
      at.push(this.at[i]);
      ids.push(this.ids[i]);
    }
    this.at = at;
    this.ids = ids;
    for (let i = (at.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.at[parent] <= this.at[i]) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(i: number): void {
    const n = this.at.length;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let least = i;
      if (left < n && this.at[left] < this.at[least]) least = left;
      if (right < n && this.at[right] < this.at[least]) least = right;
      if (least === i) return;
      this.swap(i, least);
      i = least;
    }
  }

  private swap(a: number, b: number): void {
    [this.at[a], this.at[b]] = [this.at[b], this.at[a]];
    [this.ids[a], this.ids[b]] = [this.ids[b], this.ids[a]];
  }
}
