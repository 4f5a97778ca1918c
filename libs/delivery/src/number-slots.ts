/**
 * A worker process's slots per WhatsApp number: up to `running` jobs of a number at once, and up
 * to `standby` more waiting to take over the first slot that is given back. Beyond that the
 * number is full and the caller puts its batch back for later. In-process only (each worker
 * process has its own); a slot is taken and checked in one tick, so no two callers race for it.
 */
export class NumberSlots {
  private readonly lanes = new Map<string, { running: number; standby: (() => void)[] }>();

  constructor(
    private readonly running: number,
    private readonly standby: number,
  ) {}

  /**
   * A slot of the number: at once (the function is returned as is), after waiting as a standby
   * (a promise of it), or null when the number's slots and standbys are all taken. The returned
   * function gives the slot back; calling it again does nothing.
   */
  take(number: string): (() => void) | Promise<() => void> | null {
    let lane = this.lanes.get(number);
    if (!lane) this.lanes.set(number, (lane = { running: 0, standby: [] }));
    const taken = lane;
    let given = false;
    const giveBack = () => {
      if (given) return;
      given = true;
      const next = taken.standby.shift();
      // The slot passes to the first standby as it is: the running count does not change.
      if (next) return next();
      taken.running--;
      if (taken.running === 0) this.lanes.delete(number);
    };
    if (taken.running < this.running) {
      taken.running++;
      return giveBack;
    }
    if (taken.standby.length < this.standby) return new Promise((resolve) => taken.standby.push(() => resolve(giveBack)));
    return null;
  }
}
