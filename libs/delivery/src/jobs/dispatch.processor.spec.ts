import { DISPATCH_BUCKET } from '../dispatch-scheduler';
import { SendThrottle } from '../send-throttle';
import { DispatchProcessor } from './dispatch.processor';

describe('DispatchProcessor.deferralMs', () => {
  const batchMs = (rate: number) => (DISPATCH_BUCKET / (rate * SendThrottle.HEADROOM)) * 1000;

  it("puts a batch back for about one batch's sending time at its number's rate, spread by ±25%", () => {
    expect(DispatchProcessor.deferralMs(80, 0.5)).toBe(Math.round(batchMs(80)));
    expect(DispatchProcessor.deferralMs(80, 0)).toBe(Math.round(batchMs(80) * 0.75));
    expect(DispatchProcessor.deferralMs(80, 1)).toBe(Math.round(batchMs(80) * 1.25));
    expect(DispatchProcessor.deferralMs(1000, 0.5)).toBe(Math.round(batchMs(1000)));
  });

  it('never comes back sooner than 100 ms on a fast number, nor later than 30 s on a slow one', () => {
    expect(DispatchProcessor.deferralMs(100_000, 0.5)).toBe(100);
    expect(DispatchProcessor.deferralMs(1, 0.5)).toBe(30_000);
  });
});

describe('DispatchProcessor.chunkSize', () => {
  it('claims about 100 ms of the number’s rate, between 2 and 100 deliveries', () => {
    expect(DispatchProcessor.chunkSize(1000)).toBe(96);
    expect(DispatchProcessor.chunkSize(10)).toBe(2);
    expect(DispatchProcessor.chunkSize(10_000)).toBe(100);
  });
});
