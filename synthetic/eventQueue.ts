// A binary min-heap of scheduled feed events, ordered by time and then by the order they were
// scheduled (so ties replay deterministically). The HL7 feed generates each patient's whole story at
// once, but files must be chronological; the queue holds only events still in the future of the feed
// clock — bounded by the longest story, not by the population — and releases the rest in order.

export interface Scheduled {
  at: number;
  order: number;
}

export class EventQueue<T extends Scheduled> {
  private readonly items: T[] = [];

  get size(): number {
    return this.items.length;
  }

  push(item: T): void {
    const items = this.items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(items[i]!, items[parent]!)) break;
      [items[i], items[parent]] = [items[parent]!, items[i]!];
      i = parent;
    }
  }

  /** Removes and returns the earliest event if it is strictly before `limit`. */
  popBefore(limit: number): T | undefined {
    const first = this.items[0];
    if (first === undefined || first.at >= limit) return undefined;
    const items = this.items;
    const last = items.pop()!;
    if (items.length > 0) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < items.length && before(items[left]!, items[smallest]!)) smallest = left;
        if (right < items.length && before(items[right]!, items[smallest]!)) smallest = right;
        if (smallest === i) break;
        [items[i], items[smallest]] = [items[smallest]!, items[i]!];
        i = smallest;
      }
    }
    return first;
  }
}

function before(a: Scheduled, b: Scheduled): boolean {
  return a.at < b.at || (a.at === b.at && a.order < b.order);
}
