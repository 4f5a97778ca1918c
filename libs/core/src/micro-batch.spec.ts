import { MicroBatch } from './micro-batch';

describe('MicroBatch', () => {
  it('runs items added together as one batch and answers each its own result', async () => {
    const batches: number[][] = [];
    const batch = new MicroBatch<number, number>(async (items) => {
      batches.push(items);
      return items.map((n) => ({ ok: n * 10 }));
    }, { maxItems: 100, maxDelayMs: 5 });
    await expect(Promise.all([batch.add(1), batch.add(2), batch.add(3)])).resolves.toEqual([10, 20, 30]);
    expect(batches).toEqual([[1, 2, 3]]);
  });

  it('starts a batch as soon as it is full', async () => {
    const batches: number[][] = [];
    const batch = new MicroBatch<number, number>(async (items) => {
      batches.push(items);
      return items.map((n) => ({ ok: n }));
    }, { maxItems: 2, maxDelayMs: 10_000 });
    await Promise.all([batch.add(1), batch.add(2), batch.add(3), batch.add(4)]);
    expect(batches).toEqual([[1, 2], [3, 4]]);
  });

  it('fails only the items the run says failed, and every item when the run throws', async () => {
    const partial = new MicroBatch<number, number>(async (items) => items.map((n) => (n === 2 ? { error: new Error('bad 2') } : { ok: n })), { maxItems: 10, maxDelayMs: 1 });
    const results = await Promise.allSettled([partial.add(1), partial.add(2), partial.add(3)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const broken = new MicroBatch<number, number>(async () => {
      throw new Error('down');
    }, { maxItems: 10, maxDelayMs: 1 });
    await expect(Promise.all([broken.add(1), broken.add(2)])).rejects.toThrow('down');
  });
});
