import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import type { ClientProxy } from '@nestjs/microservices';
import { setTimeout as sleep } from 'node:timers/promises';
import { LifelineTransportEvents } from './client/lifeline-transport.interfaces';
import { TRANSPORT_EMITTER, TRANSPORT_OPTIONS } from './transport.constants';
import type { TransportOptions } from './transport.options';
import { LifelineLogger } from '../lifeline';

/** How long shutdown waits for events still on their way out. */
const FLUSH_MS = 2_000;

/**
 * Re-emits Lifeline's lifecycle events and presence transitions
 * on the transport, under the same names (prefixed), so other
 * services react without polling. Fire and forget: see the README for what
 * each transport guarantees.
 */
@Injectable()
export class TransportEventsForwarder implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new LifelineLogger('Transport');
  private readonly pending = new Set<Promise<void>>();
  private failureLogged = false;

  constructor(
    @Inject(TRANSPORT_EMITTER) private readonly emitter: ClientProxy,
    @Inject(TRANSPORT_OPTIONS) private readonly options: TransportOptions,
    private readonly events: EventEmitter2,
  ) {}

  onModuleInit(): void {
    for (const name of Object.values(LifelineTransportEvents)) {
      this.events.on(name, (payload: unknown) => this.forward(name, payload));
    }
  }

  /** Disconnects of the shutdown drain (beforeApplicationShutdown) are sent before the connection closes. */
  async onApplicationShutdown(): Promise<void> {
    await Promise.race([Promise.allSettled([...this.pending]), sleep(FLUSH_MS, undefined, { ref: false })]);
    await this.emitter.close();
  }

  private forward(name: string, payload: unknown): void {
    const sent = new Promise<void>((resolve) => {
      this.emitter.emit(this.options.prefix + name, payload).subscribe({
        complete: resolve,
        error: (err: unknown) => {
          // Once per outage, not once per event.
          if (!this.failureLogged) {
            this.failureLogged = true;
            this.logger.warn({ msg: 'transport event not sent', event: name, error: err instanceof Error ? err.message : String(err) });
          }
          resolve();
        },
      });
    }).then(() => {
      this.pending.delete(sent);
    });
    this.pending.add(sent);
  }
}
