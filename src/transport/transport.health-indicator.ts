import { Inject, Injectable } from '@nestjs/common';
import { type HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import type { Observable } from 'rxjs';
import { TRANSPORT_OPTIONS } from './transport.constants';
import { redactUrl, type TransportOptions } from './transport.options';

/**
 * details.microservice: up while the microservice server is connected to
 * its broker. The server's status stream is handed over by bootstrap once
 * the hybrid app has connected it.
 */
@Injectable()
export class TransportHealthIndicator {
  private status = 'not started';

  constructor(
    private readonly indicator: HealthIndicatorService,
    @Inject(TRANSPORT_OPTIONS) private readonly options: TransportOptions,
  ) {}

  watch(status: Observable<string>): void {
    this.status = 'connecting';
    status.subscribe((value) => (this.status = value));
  }

  check<const Key extends string>(key: Key): HealthIndicatorResult<Key> {
    const session = this.indicator.check(key);
    const data = { transport: this.options.transport, url: redactUrl(this.options.url), state: this.status };
    return this.status === 'connected' ? session.up(data) : session.down(data);
  }
}
