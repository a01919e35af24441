import type { IncomingMessage } from 'node:http';
import { refusalCloseCode, refusalCloseReason, wantsCloseRefusal } from './refusal-close';

const request = (url: string) => ({ url }) as IncomingMessage;

describe('refusals as close codes', () => {
  it('only for requests that ask with ?refusal=close', () => {
    expect(wantsCloseRefusal(request('/ws?refusal=close'))).toBe(true);
    expect(wantsCloseRefusal(request('/ws?access_token=x&refusal=close'))).toBe(true);
    expect(wantsCloseRefusal(request('/ws'))).toBe(false);
    expect(wantsCloseRefusal(request('/ws?refusal=http'))).toBe(false);
    expect(wantsCloseRefusal(request('/ws?refusalx=close'))).toBe(false);
  });

  it('code = 4000 + HTTP status: 4401, 4403, 4503, 4404, 4400; anything odd is 4500', () => {
    expect([401, 403, 503, 404, 400, 429].map(refusalCloseCode)).toEqual([4401, 4403, 4503, 4404, 4400, 4429]);
    expect(refusalCloseCode(200)).toBe(4500);
  });

  it('reason = "<rejection reason>; <retry hint or message>", at most 123 bytes', () => {
    expect(refusalCloseReason({ status: 503, reason: 'capacity', message: 'server at capacity (2 clients)', headers: { 'Retry-After': '5' } })).toBe(
      'capacity; retry after 5 s',
    );
    expect(refusalCloseReason({ status: 401, reason: 'unauthorized', message: 'jwt expired' })).toBe('unauthorized; jwt expired');
    const long = refusalCloseReason({ status: 403, reason: 'forbidden', message: 'é'.repeat(200) });
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(123);
    expect(long.startsWith('forbidden; éé')).toBe(true);
  });
});
