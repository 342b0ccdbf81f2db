import type { Cursor, Delivery, SubscriberHandlers } from './types.js';

/**
 * A subscription's cursor and gap count, fed by what its profile reads from each arrival. Every
 * client hands its deliveries here, so resume bookkeeping is the same for all transports.
 */
export class DeliveryState {
  cursor: Cursor | null = null;
  gaps = 0;
  /** What the profile sent that went out (counted by the client that sent it). */
  sends = 0;

  constructor(private readonly handlers: SubscriberHandlers) {}

  /** The cursor to resume from, or null when resume is off. */
  resumeFrom(resume: boolean): Cursor | null {
    return resume ? this.cursor : null;
  }

  deliver(delivery: Delivery, receivedUs: number): void {
    if (delivery.error) this.handlers.onError?.(delivery.error);
    if (delivery.gap) {
      this.gaps++;
      this.handlers.onGap?.(delivery.gap.from, delivery.gap.to);
    }
    if (delivery.cursor !== undefined) this.cursor = delivery.cursor;
    for (const message of delivery.messages) this.handlers.onMessage(message.content, receivedUs, message.id);
  }
}
