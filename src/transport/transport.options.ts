import { type ClientOptions, type MicroserviceOptions, Transport } from '@nestjs/microservices';

export interface TransportOptions {
  transport: 'nats' | 'redis';
  /** nats://host:port or redis://[user:password@]host:port[/db] */
  url: string;
  /** Prepended to every pattern and event name (parallel deployments or tests on one broker). */
  prefix: string;
}

/** Nest transport options for both ends: the microservice server and the ClientProxy. */
export function nestTransportOptions(options: TransportOptions): ClientOptions & MicroserviceOptions {
  if (options.transport === 'nats') {
    return {
      transport: Transport.NATS,
      // A queue group: with several Lifeline nodes each command is taken by exactly one.
      options: { servers: [options.url], queue: `${options.prefix}lifeline` },
    };
  }
  const url = new URL(options.url);
  return {
    transport: Transport.REDIS,
    options: {
      host: url.hostname,
      port: url.port ? Number(url.port) : 6379,
      ...(url.username && { username: decodeURIComponent(url.username) }),
      ...(url.password && { password: decodeURIComponent(url.password) }),
      ...(url.pathname.length > 1 && { db: Number(url.pathname.slice(1)) }),
      ...(url.protocol === 'rediss:' && { tls: {} }),
    },
  };
}

/** The URL without its password, for logs and health details. */
export function redactUrl(value: string): string {
  try {
    const url = new URL(value);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '?';
  }
}
