import { NEVER, of, startWith, throwError } from 'rxjs';
import type { ClientRecord } from '../interfaces/client-record.interface';
import { endTurn, inTurn, takeTurn } from './frame-order';

const record = () => ({ frameQueue: undefined }) as unknown as ClientRecord;
const frame = (text: string) => Buffer.from(text);
const roomy = { frames: 100, bytes: 1000 };

describe('frame order', () => {
  it('lets the first frame through, queues the next ones, and hands them out in order', () => {
    const r = record();
    expect(takeTurn(r, frame('a'), false, roomy)).toBe('now');
    expect(takeTurn(r, frame('b'), false, roomy)).toBe('queued');
    expect(takeTurn(r, frame('cc'), true, roomy)).toBe('queued');
    expect(r.frameQueue?.bytes).toBe(3);
    expect(endTurn(r)).toMatchObject({ raw: frame('b'), isBinary: false, bytes: 1 });
    // b is in flight now: a new frame waits behind cc.
    expect(takeTurn(r, frame('d'), false, roomy)).toBe('queued');
    expect(endTurn(r)).toMatchObject({ raw: frame('cc'), isBinary: true });
    expect(endTurn(r)?.raw).toEqual(frame('d'));
    expect(r.frameQueue?.bytes).toBe(0);
    expect(endTurn(r)).toBeUndefined();
    expect(r.frameQueue).toBeUndefined();
    expect(takeTurn(r, frame('e'), false, roomy)).toBe('now');
  });

  it('allocates nothing for frames that do not overlap', () => {
    const a = record();
    const b = record();
    takeTurn(a, frame('x'), false, roomy);
    takeTurn(b, frame('y'), false, roomy);
    expect(a.frameQueue).toBe(b.frameQueue); // the shared in-flight marker
    expect(Object.isFrozen(a.frameQueue)).toBe(true);
  });

  it('refuses beyond the frame or byte limit (one frame always fits)', () => {
    const r = record();
    takeTurn(r, frame('in flight'), false, { frames: 100, bytes: 10 });
    expect(takeTurn(r, frame('x'.repeat(50)), false, { frames: 100, bytes: 10 })).toBe('queued');
    expect(takeTurn(r, frame('y'), false, { frames: 100, bytes: 10 })).toBe('full');
    const s = record();
    takeTurn(s, frame('in flight'), false, { frames: 3, bytes: 1e9 });
    for (let i = 0; i < 3; i++) expect(takeTurn(s, frame('z'), false, { frames: 3, bytes: 1e9 })).toBe('queued');
    expect(takeTurn(s, frame('z'), false, { frames: 3, bytes: 1e9 })).toBe('full');
    endTurn(s);
    expect(takeTurn(s, frame('z'), false, { frames: 3, bytes: 1e9 })).toBe('queued');
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
