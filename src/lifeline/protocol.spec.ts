import { errorFrame, parseBody, parseFrame, ProtocolError, publishBodySchema, topicBodySchema, withRawField } from './protocol';

/** Runs fn expecting a ProtocolError; returns it. */
function protocolErrorOf(fn: () => unknown): ProtocolError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  if (!(caught instanceof ProtocolError)) throw new Error(`expected a ProtocolError, got ${String(caught)}`);
  return caught;
}

describe('ProtocolError', () => {
  it('is an Error named ProtocolError carrying the event', () => {
    const err = new ProtocolError('nope', 'subscribe');
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('ProtocolError');
    expect(err.message).toBe('nope');
    expect(err.event).toBe('subscribe');
  });
});

describe('parseFrame', () => {
  it.each(['{', 'not json', '{"event":"ping",}', ''])('rejects malformed JSON %p', (raw) => {
    const err = protocolErrorOf(() => parseFrame(raw));
    expect(err.message).toBe('malformed JSON');
    expect(err.event).toBeUndefined();
  });

  it.each(['[1,2]', '"ping"', '42', 'null', 'true'])('rejects the non-object %s', (raw) => {
    const err = protocolErrorOf(() => parseFrame(raw));
    expect(err.message).toMatch(/^expected \{"event": string, "data": any\}: frame: /);
  });

  it('rejects a frame without an event, naming the field', () => {
    const err = protocolErrorOf(() => parseFrame('{"data":{"topic":"t"}}'));
    expect(err.message).toMatch(/^expected \{"event": string, "data": any\}: event: /);
  });

  it.each([
    ['a number', '{"event":42}'],
    ['empty', '{"event":""}'],
    ['longer than 64 characters', JSON.stringify({ event: 'e'.repeat(65) })],
  ])('rejects an event that is %s', (_what, raw) => {
    const err = protocolErrorOf(() => parseFrame(raw));
    expect(err.message).toContain('event: ');
  });

  it('accepts a frame without data (a ping with no payload)', () => {
    expect(parseFrame('{"event":"ping"}')).toStrictEqual({ event: 'ping' });
  });

  it('parses a valid frame into event and data', () => {
    expect(parseFrame('{"event":"publish","data":{"topic":"t","data":[1,2]}}')).toStrictEqual({
      event: 'publish',
      data: { topic: 't', data: [1, 2] },
    });
  });

  it('accepts an event of exactly 64 characters', () => {
    const event = 'e'.repeat(64);
    expect(parseFrame(JSON.stringify({ event, data: null }))).toStrictEqual({ event, data: null });
  });
});

describe('parseBody', () => {
  it('returns the body that matches topicBodySchema, without extra fields', () => {
    expect(parseBody(topicBodySchema, { topic: 'news', extra: true }, 'subscribe')).toStrictEqual({ topic: 'news' });
  });

  it.each([
    ['missing', {}],
    ['not a string', { topic: 7 }],
    ['empty', { topic: '' }],
    ['longer than 256 characters', { topic: 't'.repeat(257) }],
  ])('rejects a topic that is %s, naming the field and the event', (_what, body) => {
    const err = protocolErrorOf(() => parseBody(topicBodySchema, body, 'subscribe'));
    expect(err.event).toBe('subscribe');
    expect(err.message).toMatch(/^invalid data: topic: /);
  });

  it('rejects a topic with white space with its own message', () => {
    const err = protocolErrorOf(() => parseBody(topicBodySchema, { topic: 'a b' }, 'unsubscribe'));
    expect(err.message).toBe('invalid data: topic: must not contain white space');
    expect(err.event).toBe('unsubscribe');
  });

  it.each([undefined, null, 'news', 42])('rejects the non-object body %p as a whole', (body) => {
    const err = protocolErrorOf(() => parseBody(topicBodySchema, body, 'subscribe'));
    expect(err.message).toMatch(/^invalid data: frame: /);
  });

  it('accepts a topic of exactly 256 characters', () => {
    const topic = 't'.repeat(256);
    expect(parseBody(topicBodySchema, { topic }, 'subscribe').topic).toBe(topic);
  });

  it('returns topic and data for publishBodySchema, whatever the data is', () => {
    const data = { nested: [1, { deep: 'x' }], n: null };
    expect(parseBody(publishBodySchema, { topic: 'prices', data }, 'publish')).toStrictEqual({ topic: 'prices', data });
  });

  it('rejects a publish body with a bad topic, naming the event', () => {
    const err = protocolErrorOf(() => parseBody(publishBodySchema, { topic: 'x y', data: 1 }, 'publish'));
    expect(err.event).toBe('publish');
    expect(err.message).toBe('invalid data: topic: must not contain white space');
  });
});

describe('errorFrame', () => {
  it('builds an error frame with code and message, and no event key when none is given', () => {
    const frame = errorFrame('bad_request', 'malformed JSON');
    expect(frame).toStrictEqual({ event: 'error', data: { code: 'bad_request', message: 'malformed JSON' } });
    expect('event' in frame.data).toBe(false);
  });

  it('includes the causing event when given', () => {
    expect(errorFrame('internal_error', 'failed', 'publish')).toStrictEqual({
      event: 'error',
      data: { code: 'internal_error', message: 'failed', event: 'publish' },
    });
  });
});

describe('withRawField', () => {
  it('adds a field whose value is JSON already, to an empty or a filled object', () => {
    const raw = JSON.stringify({ members: [{ userId: 'a"b', since: 1 }], count: 1 });
    expect(JSON.parse(withRawField('{}', 'presence', raw))).toEqual({ presence: JSON.parse(raw) });
    const spliced = withRawField(JSON.stringify({ topic: 't', offset: 3 }), 'presence', raw);
    expect(JSON.parse(spliced)).toEqual({ topic: 't', offset: 3, presence: { members: [{ userId: 'a"b', since: 1 }], count: 1 } });
  });

  it('escapes the key', () => {
    expect(JSON.parse(withRawField('{"a":1}', 'we"ird', '2'))).toEqual({ a: 1, 'we"ird': 2 });
  });
});
