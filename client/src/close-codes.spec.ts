import { classifyClose, retryHintMs } from './close-codes';

describe('classifyClose: what each close code means to the SDK', () => {
  it.each([
    [4401, 'unauthorized; invalid token', 'terminal', 'unauthorized'],
    [4403, 'forbidden_origin; origin not allowed', 'terminal', 'forbidden'],
    [4404, 'not_found; no WebSocket endpoint at /x', 'terminal', 'not_found'],
    [4400, 'bad_request; malformed request target', 'terminal', 'bad_request'],
    [4001, 'token_expired', 'renew', 'token_expired'],
    [1008, 'kicked', 'terminal', 'kicked'],
    [1008, 'something else', 'terminal', 'protocol_error'],
    [1003, 'binary frames are not accepted', 'terminal', 'protocol_error'],
    [1007, '', 'terminal', 'protocol_error'],
    [4410, 'gone', 'terminal', 'protocol_error'],
    [4503, 'capacity; retry after 5 s', 'retry', 'unavailable'],
    [4429, 'too many', 'retry', 'unavailable'],
    [1008, 'rate_limited', 'retry', 'rate_limited'],
    [1009, '', 'retry', 'payload_too_large'],
  ])('%i %j → %s (%s)', (code, reason, kind, errorCode) => {
    const action = classifyClose(code, reason);
    expect(action.kind).toBe(kind);
    expect(action.error?.code).toBe(errorCode);
    expect(action.error?.details.closeCode).toBe(code);
  });

  it.each([1000, 1001, 1006, 1011, 1012, 1013, 4000])('%i → retry, no error', (code) => {
    expect(classifyClose(code, '')).toEqual({ kind: 'retry' });
  });

  it('reads the retry hint of a 4503', () => {
    expect(classifyClose(4503, 'capacity; retry after 5 s')).toMatchObject({ kind: 'retry', retryAfterMs: 5000 });
    expect(classifyClose(4503, 'shutting_down; retry after 2.5 s')).toMatchObject({ retryAfterMs: 2500 });
    expect(classifyClose(4503, 'unavailable')).toMatchObject({ kind: 'retry', retryAfterMs: undefined });
    expect(retryHintMs('Retry after 10 s')).toBe(10_000);
    expect(retryHintMs('nothing')).toBeUndefined();
  });
});
