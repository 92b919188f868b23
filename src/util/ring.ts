/** Keeps the last `size` items: the stderr tail shown in diagnoses. */
export class Ring<T> {
  private readonly items: T[] = [];
  constructor(private readonly size: number) {}
  push(item: T): void {
    this.items.push(item);
    if (this.items.length > this.size) this.items.shift();
  }
  toArray(): T[] {
    return [...this.items];
  }
}
