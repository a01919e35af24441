/**
 * What the SDK uses from its environment, typed here instead of through the
 * DOM or Node typings, so one source runs in browsers, Node and workers.
 */

/** The part of the WebSocket API the SDK uses; browsers' WebSocket and `ws` both have it. */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  /** `ws` only: drop the TCP connection without a close handshake. */
  terminate?: () => void;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** A timer id: a number in browsers, an object in Node. */
export type TimerHandle = object | number;

export interface ListenerTarget {
  addEventListener(type: string, listener: () => void): void;
  removeEventListener(type: string, listener: () => void): void;
}

interface Host {
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
  WebSocket?: WebSocketConstructor;
  addEventListener?: ListenerTarget['addEventListener'];
  removeEventListener?: ListenerTarget['removeEventListener'];
  document?: ListenerTarget & { visibilityState?: string };
  TextEncoder?: new () => { encode(text: string): { length: number } };
}

export const host = globalThis as unknown as Host;

/** One timer at a time per purpose: set() replaces, clear() forgets. */
export class Timer {
  private handle: TimerHandle | undefined;

  set(ms: number, callback: () => void): void {
    this.clear();
    const handle = host.setTimeout(() => {
      if (this.handle === handle) this.handle = undefined;
      callback();
    }, Math.max(0, ms));
    this.handle = handle;
  }

  clear(): void {
    if (this.handle !== undefined) host.clearTimeout(this.handle);
    this.handle = undefined;
  }

  get active(): boolean {
    return this.handle !== undefined;
  }
}

/** UTF-8 length of a string. */
export function utf8Length(text: string): number {
  if (host.TextEncoder) return new host.TextEncoder().encode(text).length;
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c < 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}
