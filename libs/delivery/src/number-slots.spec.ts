import { NumberSlots } from './number-slots';

describe('NumberSlots', () => {
  it('gives a number its running slots at once, then standbys, then nothing', async () => {
    const slots = new NumberSlots(2, 1);
    const first = slots.take('a');
    const second = slots.take('a');
    expect(typeof first).toBe('function');
    expect(typeof second).toBe('function');
    const standby = slots.take('a');
    expect(standby).toBeInstanceOf(Promise);
    expect(slots.take('a')).toBeNull();
    // Another number is not affected.
    expect(typeof slots.take('b')).toBe('function');

    let handedOver = false;
    void (standby as Promise<() => void>).then(() => (handedOver = true));
    (first as () => void)();
    await Promise.resolve();
    expect(handedOver).toBe(true);
    // The standby took the slot over: the number is still at its two running jobs.
    expect(slots.take('a')).toBeInstanceOf(Promise);
  });

  it('frees a slot only once, however often it is given back', () => {
    const slots = new NumberSlots(1, 0);
    const release = slots.take('a') as () => void;
    expect(slots.take('a')).toBeNull();
    release();
    release();
    const again = slots.take('a') as () => void;
    expect(typeof again).toBe('function');
    expect(slots.take('a')).toBeNull();
  });
});
