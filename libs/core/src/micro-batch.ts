/** What a batch's run answers for one item: its result, or the error that item alone failed with. */
export type BatchOutcome<R> = { ok: R } | { error: unknown };

/**
 * Gathers items that arrive within a few milliseconds of each other (or until `maxItems`) and runs
 * them as one batch, for work whose cost is mostly per statement or per round trip (one INSERT of
 * many rows, one bulk enqueue). Each `add` resolves with its own item's outcome; a batch that throws
 * fails all its items. Batches run side by side: a slow one does not hold the next.
 */
export class MicroBatch<T, R> {
  private items: { item: T; resolve: (result: R) => void; reject: (error: unknown) => void }[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly run: (items: T[]) => Promise<BatchOutcome<R>[]>,
    private readonly options: { maxItems: number; maxDelayMs: number },
  ) {}

  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.items.push({ item, resolve, reject });
      if (this.items.length >= this.options.maxItems) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.options.maxDelayMs);
    });
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.items.splice(0);
    if (batch.length === 0) return;
    this.run(batch.map((entry) => entry.item)).then(
      (outcomes) =>
        batch.forEach((entry, i) => {
          const outcome = outcomes[i];
          if (outcome && 'ok' in outcome) entry.resolve(outcome.ok);
          else entry.reject(outcome ? outcome.error : new Error('the batch gave no outcome for this item'));
        }),
      (error: unknown) => batch.forEach((entry) => entry.reject(error)),
    );
  }
}
