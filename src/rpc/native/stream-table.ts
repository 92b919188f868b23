/**
 * A session's open streams by id, in slots indexed by the id's low bits, with
 * a Map only for the rare id whose slot is taken.
 *
 * A Map would do the lookups, but not the garbage collection: a session adds
 * and deletes a stream per call, so V8 rebuilds the Map's table every few
 * dozen calls, and a table it replaced keeps pointing at its successor and at
 * the streams it held (for iterators still on it). Once one replaced table
 * sits in the old generation, every young collection keeps the next table,
 * and through it each finished call's stream, sink and buffers, alive and
 * promotes them: measured in a host that had served calls before it read
 * files, a quarter of what it allocated reached the old generation and the
 * collector's pauses took ~15 % of its time (docs/benchmarks.md). Slots are
 * emptied in place, so a finished stream is referenced by nothing.
 *
 * Ids of both sides interleave (the host's odd, the plugin's even, each
 * counting up by two), so the slots hold the latest calls of both sides. They
 * double, up to MAX_SLOTS, when a new stream finds its slot taken while a
 * quarter of them are in use; a slot held by one long-lived stream sends the
 * stream that meets it to the Map instead.
 */
const INITIAL_SLOTS = 64;
const MAX_SLOTS = 4096;

export class StreamTable<S extends { readonly id: number }> {
  private slots: Array<S | undefined> = new Array<S | undefined>(INITIAL_SLOTS).fill(undefined);
  /** Streams in slots. */
  private inSlots = 0;
  private readonly overflow = new Map<number, S>();

  get(id: number): S | undefined {
    const s = this.slots[id & (this.slots.length - 1)];
    if (s !== undefined && s.id === id) return s;
    return this.overflow.size === 0 ? undefined : this.overflow.get(id);
  }

  /** Adds a stream whose id is not in the table. */
  add(stream: S): void {
    const taken = this.slots[stream.id & (this.slots.length - 1)] !== undefined;
    if (taken && this.inSlots * 4 >= this.slots.length && this.slots.length < MAX_SLOTS) this.grow();
    this.place(stream);
  }

  delete(id: number): void {
    const i = id & (this.slots.length - 1);
    const s = this.slots[i];
    if (s !== undefined && s.id === id) {
      this.slots[i] = undefined;
      this.inSlots--;
    } else if (this.overflow.size > 0) {
      this.overflow.delete(id);
    }
  }

  get size(): number {
    return this.inSlots + this.overflow.size;
  }

  /** How many slots there are now (tests watch it grow). */
  get capacity(): number {
    return this.slots.length;
  }

  values(): S[] {
    const all: S[] = [];
    for (const s of this.slots) if (s !== undefined) all.push(s);
    for (const s of this.overflow.values()) all.push(s);
    return all;
  }

  clear(): void {
    this.slots.fill(undefined);
    this.inSlots = 0;
    this.overflow.clear();
  }

  /** Doubles the slots; a stream whose new slot is taken goes to the Map. */
  private grow(): void {
    const streams = this.values();
    const old = this.slots;
    this.slots = new Array<S | undefined>(old.length * 2).fill(undefined);
    this.inSlots = 0;
    this.overflow.clear();
    for (const s of streams) this.place(s);
    // The old array may sit in the old generation: left filled, it would keep finished streams alive as above.
    old.fill(undefined);
  }

  /** Into its slot, or into the Map when the slot is taken. */
  private place(stream: S): void {
    const i = stream.id & (this.slots.length - 1);
    if (this.slots[i] !== undefined) {
      this.overflow.set(stream.id, stream);
      return;
    }
    this.slots[i] = stream;
    this.inSlots++;
  }
}
