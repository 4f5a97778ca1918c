import { batchRange, DISPATCH_BUCKET, DispatchBatchJob } from './dispatch-scheduler';

const batch = (extra: Partial<DispatchBatchJob>): DispatchBatchJob => ({ tenantId: 't', campaignId: 'c', channelId: 'ch', bucket: 3, emergency: false, order: 0, ...extra });

describe('batchRange', () => {
  it('covers the id bucket when the batch has no range of its own (reconciler batches)', () => {
    expect(batchRange(batch({}))).toEqual({ from: 3 * DISPATCH_BUCKET, to: 4 * DISPATCH_BUCKET - 1 });
  });

  it('covers the launch range, however wide, when one is given (ids interleaved with other campaigns)', () => {
    expect(batchRange(batch({ fromId: 1001, toId: 5987 }))).toEqual({ from: 1001, to: 5987 });
  });
});
