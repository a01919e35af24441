import { NEVER, of, startWith, throwError } from 'rxjs';
import type { ClientRecord } from '../interfaces/client-record.interface';
import { MAX_WAITING_FRAMES } from './constants';
import { endTurn, inTurn, takeTurn } from './frame-order';

const record = () => ({ frameQueue: undefined }) as unknown as ClientRecord;
const frame = (text: string) => Buffer.from(text);

describe('frame order', () => {
  it('lets the first frame through, queues the next ones, and hands them out in order', () => {
    const r = record();
    expect(takeTurn(r, frame('a'), false, 1000)).toBe('now');
    expect(takeTurn(r, frame('b'), false, 1000)).toBe('queued');
    expect(takeTurn(r, frame('c'), true, 1000)).toBe('queued');
    expect(endTurn(r)).toMatchObject({ raw: frame('b'), isBinary: false, bytes: 1 });
    // b is in flight now: a new frame waits behind c.
    expect(takeTurn(r, frame('d'), false, 1000)).toBe('queued');
    expect(endTurn(r)?.raw).toEqual(frame('c'));
    expect(endTurn(r)?.raw).toEqual(frame('d'));
    expect(endTurn(r)).toBeUndefined();
    expect(r.frameQueue).toBeUndefined();
    expect(takeTurn(r, frame('e'), false, 1000)).toBe('now');
  });

  it('allocates nothing for frames that do not overlap', () => {
    const a = record();
    const b = record();
    takeTurn(a, frame('x'), false, 1000);
    takeTurn(b, frame('y'), false, 1000);
    expect(a.frameQueue).toBe(b.frameQueue); // the shared in-flight marker
    expect(a.frameQueue).toHaveLength(0);
  });

  it('refuses beyond MAX_WAITING_FRAMES frames or maxBytes bytes waiting (one frame always fits)', () => {
    const r = record();
    takeTurn(r, frame('in flight'), false, 10);
    expect(takeTurn(r, frame('x'.repeat(50)), false, 10)).toBe('queued');
    expect(takeTurn(r, frame('y'), false, 10)).toBe('full');
    endTurn(r);
    const s = record();
    takeTurn(s, frame('in flight'), false, 1e9);
    for (let i = 0; i < MAX_WAITING_FRAMES; i++) expect(takeTurn(s, frame('z'), false, 1e9)).toBe('queued');
    expect(takeTurn(s, frame('z'), false, 1e9)).toBe('full');
  });
});

describe('inTurn', () => {
  it('ends the turn after the first response has gone downstream, or on completion or failure without one', () => {
    const log: string[] = [];
    const done = () => log.push('done');
    of('a', 'b')
      .pipe(inTurn(done))
      .subscribe({ next: (v) => log.push(v), complete: () => log.push('complete') });
    expect(log).toEqual(['a', 'done', 'b', 'done', 'complete', 'done']); // the caller's done is idempotent
    log.length = 0;
    of().pipe(inTurn(done)).subscribe();
    throwError(() => new Error('x'))
      .pipe(inTurn(done))
      .subscribe({ error: () => log.push('error') });
    expect(log).toEqual(['done', 'error', 'done']);
    log.length = 0;
    // A response stream that never ends still ends the turn at its first response.
    NEVER.pipe(startWith('first'), inTurn(done)).subscribe((v) => log.push(v));
    expect(log).toEqual(['first', 'done']);
  });
});
