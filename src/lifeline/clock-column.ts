/**
 * The clock fields of every live client, side by side in Float64Array chunks.
 *
 * A number field of a V8 object that ever holds a non-integer (a timestamp,
 * NaN) points at a heap number of its own: 8 B for the field plus 16 B for the
 * box, per field, per client. Here the value is 8 B in a chunk shared by
 * CHUNK_SLOTS clients: six clocks cost 48 B (plus two fields of the holder)
 * instead of 144 B.
 *
 * Slots are handed out last-freed first (the chunks stay warm) and chunks are
 * never given back: a peak of N clients keeps N slots, as a Map keeps its table.
 */

/** Where a holder's slot is: its chunk and the index of its first field. */
export interface ClockSlot {
  clocks: Float64Array;
  at: number;
}

/** 1,024 slots of six fields: a 48 KB chunk, outside the V8 heap. */
const CHUNK_SLOTS = 1024;

export class ClockColumn {
  private chunk: Float64Array | undefined;
  /** Slots of the newest chunk handed out so far. */
  private used = CHUNK_SLOTS;
  /** Freed slots as (chunk, index) pairs: a stack. */
  private readonly freeChunks: Float64Array[] = [];
  private readonly freeAt: number[] = [];

  constructor(private readonly fields: number) {}

  /** Gives `holder` a slot (its fields hold whatever the last holder left: set them all). */
  take(holder: ClockSlot): void {
    const chunk = this.freeChunks.pop();
    if (chunk !== undefined) {
      holder.clocks = chunk;
      holder.at = this.freeAt.pop()!;
      return;
    }
    if (this.used === CHUNK_SLOTS) {
      this.chunk = new Float64Array(CHUNK_SLOTS * this.fields);
      this.used = 0;
    }
    holder.clocks = this.chunk!;
    holder.at = this.used++ * this.fields;
  }

  /**
   * Takes the slot back, after copying its fields into a small array of the
   * holder's own: a holder may still be read (and written) after it leaves,
   * and must never see the next holder's values.
   */
  give(holder: ClockSlot): void {
    const { clocks, at } = holder;
    if (clocks.length === this.fields) return; // already its own copy
    holder.clocks = clocks.slice(at, at + this.fields);
    holder.at = 0;
    this.freeChunks.push(clocks);
    this.freeAt.push(at);
  }
}
