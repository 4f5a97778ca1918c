import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { QueueTransport } from '@app/queue';

/** Redis (through the queue transport) answers; the in-process transport always does. */
@Injectable()
export class QueueHealthIndicator {
  constructor(
    private readonly transport: QueueTransport,
    private readonly indicators: HealthIndicatorService,
  ) {}

  async check(key: string) {
    const indicator = this.indicators.check(key);
    try {
      await Promise.race([
        this.transport.ping(),
        new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 2000).unref()),
      ]);
      return indicator.up({ transport: this.transport.kind });
    } catch (error) {
      return indicator.down({ transport: this.transport.kind, message: (error as Error).message });
    }
  }
}
