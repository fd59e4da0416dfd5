// Runs a connector's background work (landing staged parts in DuckDB) one task after another while
// the caller goes on parsing, so DuckDB works on part n on its own thread as JavaScript reads part
// n + 1. The first failure surfaces from finish(); tasks after it never start.

export class SerialTasks {
  private chain: Promise<void> = Promise.resolve();
  started = 0;

  /** Queues `task`; `abandoned` runs instead if an earlier task failed (e.g. to close a spool). */
  add(task: () => Promise<void>, abandoned?: () => Promise<void> | void): void {
    this.started += 1;
    const next = this.chain.then(task);
    if (abandoned) next.catch(() => abandoned());
    this.chain = next;
  }

  /** Waits for every queued task; throws the first failure. */
  async finish(): Promise<void> {
    await this.chain;
  }

  /** Waits for any task in flight, whatever its outcome (before scratch files are removed). */
  async settle(): Promise<void> {
    await this.chain.catch(() => undefined);
  }
}
