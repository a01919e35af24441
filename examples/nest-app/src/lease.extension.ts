import { Controller, Get, Injectable, Module } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import {
  ClientRegistryService,
  type ClientConnectedEvent,
  type ClientDisconnectedEvent,
  LifelineEvents,
} from 'nestjs-lifeline';

/**
 * An extension: every client holds a "lease" (a per-client resource) that
 * Lifeline's cleanup pipeline releases on every way out, and the extension
 * hears each disconnect with its reason.
 */
@Injectable()
export class LeaseExtension {
  readonly leases = new Set<string>();
  released = 0;
  readonly disconnects: { clientId: string; reason: string; durationMs: number }[] = [];

  constructor(readonly registry: ClientRegistryService) {}

  @OnEvent(LifelineEvents.connected)
  onConnected({ clientId }: ClientConnectedEvent): void {
    this.leases.add(clientId);
    this.registry.attach(clientId, 'example:lease', () => {
      this.leases.delete(clientId);
      this.released++;
    });
  }

  @OnEvent(LifelineEvents.disconnected)
  onDisconnected({ clientId, reason, durationMs }: ClientDisconnectedEvent): void {
    this.disconnects.push({ clientId, reason, durationMs });
  }
}

@Controller('example')
export class LeaseController {
  constructor(private readonly leases: LeaseExtension) {}

  @Get('stats')
  stats() {
    return {
      clients: this.leases.registry.size,
      leases: [...this.leases.leases],
      released: this.leases.released,
      disconnects: this.leases.disconnects,
    };
  }
}

@Module({ providers: [LeaseExtension], controllers: [LeaseController] })
export class LeaseModule {}
