import { classifyGraphError, ErrorDisposition, retryDelayMs } from './error-policy';

describe('classifyGraphError', () => {
  it.each([
    [130429, ErrorDisposition.Retry],
    [131056, ErrorDisposition.Retry],
    [131000, ErrorDisposition.Retry],
    [131026, ErrorDisposition.Permanent],
    [131047, ErrorDisposition.Permanent],
    [131050, ErrorDisposition.Permanent],
    [132001, ErrorDisposition.Permanent],
    [100, ErrorDisposition.Permanent],
    [190, ErrorDisposition.Pause],
    [131048, ErrorDisposition.Pause],
    [200, ErrorDisposition.Pause],
    [299, ErrorDisposition.Pause],
    [368, ErrorDisposition.Pause],
  ])('code %i is %s', (code, disposition) => {
    expect(classifyGraphError(code)).toBe(disposition);
  });

  it('retries a 5xx or a network failure without a code, but not a 4xx without one', () => {
    expect(classifyGraphError(null, 503)).toBe(ErrorDisposition.Retry);
    expect(classifyGraphError(null)).toBe(ErrorDisposition.Retry);
    expect(classifyGraphError(null, 429)).toBe(ErrorDisposition.Retry);
    expect(classifyGraphError(null, 404)).toBe(ErrorDisposition.Permanent);
  });

  it('spaces pair-rate retries 1, 4, 16, 64 seconds apart', () => {
    expect([0, 1, 2, 3].map((attempt) => retryDelayMs(131056, attempt))).toEqual([1000, 4000, 16000, 64000]);
  });
});
