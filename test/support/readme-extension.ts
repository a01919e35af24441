import { Injectable, Logger, Module } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import {
  type ClientConnectedEvent,
  type ClientDisconnectedEvent,
  ClientRegistryService,
  LifelineEvents,
} from '../../src/lifeline';

/** Something your module acquires per client and must give back: here, a seat. */
@Injectable()
export class Seats {
  private readonly taken = new Set<string>();

  acquire(clientId: string): Promise<{ release(): void }> {
    this.taken.add(clientId);
    return Promise.resolve({ release: () => void this.taken.delete(clientId) });
  }

  get count(): number {
    return this.taken.size;
  }
}

@Injectable()
export class SeatsExtension {
  private readonly logger = new Logger('Seats');

  constructor(
    private readonly registry: ClientRegistryService,
    private readonly seats: Seats,
  ) {}

  @OnEvent(LifelineEvents.connected)
  async onConnected({ clientId }: ClientConnectedEvent): Promise<void> {
    const seat = await this.seats.acquire(clientId);
    // false (and the disposer already run) if the client left meanwhile
    this.registry.attach(clientId, 'seat', () => seat.release());
  }

  @OnEvent(LifelineEvents.disconnected)
  onDisconnected({ clientId, reason, durationMs }: ClientDisconnectedEvent): void {
    // The seat is released by now, whatever the reason.
    this.logger.log({ msg: 'left', clientId, reason, durationMs, seats: this.seats.count });
  }
}

@Module({ providers: [Seats, SeatsExtension] })
export class SeatsModule {}
