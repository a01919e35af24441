import type { MessageMappingProperties } from '@nestjs/websockets';
import { firstValueFrom, from, of, toArray } from 'rxjs';
import type { WebSocket } from 'ws';
import { MessageHandlers, responsesOf } from './message-handlers';

const handler = (message: string, callback: MessageMappingProperties['callback']): MessageMappingProperties => ({
  message,
  methodName: message,
  callback,
  isAckHandledManually: false,
});

/** Handlers as Nest binds them to one client: each callback knows its client. */
const boundTo = (client: string, events: string[]): MessageMappingProperties[] =>
  events.map((message) => handler(message, (data: unknown) => Promise.resolve(`${client}:${message}:${String(data)}`)));

/** The adapter only stores a property on the socket; any object stands in for one here. */
const socket = () => ({}) as WebSocket;

const tableOf = (client: WebSocket): unknown =>
  (Object.getOwnPropertySymbols(client).map((s) => (client as unknown as Record<symbol, { table: unknown }>)[s]))[0]
    .table;

describe('MessageHandlers', () => {
  it("dispatches each client's event to the callback bound to that client", async () => {
    const handlers = new MessageHandlers();
    const a = socket();
    const b = socket();
    handlers.attach(a, boundTo('a', ['ping', 'subscribe']));
    handlers.attach(b, boundTo('b', ['ping', 'subscribe']));
    expect(await handlers.find(a, 'subscribe')?.('x', 'subscribe')).toBe('a:subscribe:x');
    expect(await handlers.find(b, 'ping')?.('y', 'ping')).toBe('b:ping:y');
    expect(handlers.find(a, 'publish')).toBeUndefined();
    expect(handlers.find(socket(), 'ping')).toBeUndefined();
  });

  it('shares one event table among the clients of a gateway, and keeps gateways apart', async () => {
    const handlers = new MessageHandlers();
    const a = socket();
    const b = socket();
    const other = socket();
    handlers.attach(a, boundTo('a', ['ping', 'subscribe']));
    handlers.attach(b, boundTo('b', ['ping', 'subscribe']));
    handlers.attach(other, boundTo('o', ['subscribe', 'ping']));
    expect(tableOf(a)).toBe(tableOf(b));
    expect(tableOf(other)).not.toBe(tableOf(a));
    expect(await handlers.find(other, 'ping')?.(1, 'ping')).toBe('o:ping:1');
    expect(handlers['tables']).toHaveLength(2);
  });

  it('the first handler of a repeated event name wins, and the table is still shared', async () => {
    const handlers = new MessageHandlers();
    const a = socket();
    const b = socket();
    const twice: MessageMappingProperties[] = [
      handler('ping', () => Promise.resolve('first')),
      handler('ping', () => Promise.resolve('second')),
    ];
    handlers.attach(a, twice);
    handlers.attach(b, twice);
    expect(await handlers.find(a, 'ping')?.(undefined, 'ping')).toBe('first');
    expect(handlers['tables']).toHaveLength(1);
  });
});

describe('responsesOf', () => {
  const all = (outcome: unknown) => firstValueFrom(responsesOf(outcome).pipe(toArray()));

  it('turns a value, a promise and an observable of several responses into their stream', async () => {
    expect(await all(Promise.resolve({ event: 'pong' }))).toEqual([{ event: 'pong' }]);
    expect(await all(Promise.resolve(Promise.resolve(7)))).toEqual([7]);
    expect(await all(Promise.resolve(from([1, 2, 3])))).toEqual([1, 2, 3]);
    expect(await all(of('sync'))).toEqual(['sync']);
    expect(await all(undefined)).toEqual([undefined]);
  });

  it('carries a rejection to the subscriber as an error', async () => {
    await expect(all(Promise.reject(new Error('handler failed')))).rejects.toThrow('handler failed');
  });
});
