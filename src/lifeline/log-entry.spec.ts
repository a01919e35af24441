import { ConsoleLogger, Logger } from '@nestjs/common';
import { LifelineLogger, LogEntry } from './log-entry';

/** What a logger wrote to stdout/stderr while `run` ran. */
function captureOutput(run: () => void): string {
  let text = '';
  const streams = [process.stdout, process.stderr];
  const spies = streams.map((s) =>
    jest.spyOn(s, 'write').mockImplementation((chunk: string | Uint8Array) => {
      text += chunk.toString();
      return true;
    }),
  );
  try {
    run();
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
  return text;
}

describe('LifelineLogger under a host app\'s LoggerService', () => {
  afterEach(() => {
    Logger.overrideLogger(true);
  });

  it("Nest's default ConsoleLogger prints a structured line as one readable line, not Object(n) {…}", () => {
    Logger.overrideLogger(new ConsoleLogger({ colors: false }));
    const out = captureOutput(() => {
      new LifelineLogger('Lifeline').log({ msg: 'client connected', clientId: 'c-1', remoteAddress: '127.0.0.1', n: 3 });
      new LifelineLogger('Lifeline').warn({ msg: 'slow consumer terminated', limit: 'hard', note: 'has spaces', nested: { a: [1] } });
    });
    const lines = out.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/LOG \[Lifeline\] client connected clientId=c-1 remoteAddress=127\.0\.0\.1 n=3$/);
    expect(lines[1]).toMatch(/WARN \[Lifeline\] slow consumer terminated limit=hard note="has spaces" nested=\{"a":\[1\]\}$/);
    expect(out).not.toContain('Object(');
  });

  it('ConsoleLogger in json mode and structured loggers still get the fields', () => {
    Logger.overrideLogger(new ConsoleLogger({ json: true, colors: false }));
    const out = captureOutput(() => new LifelineLogger('Lifeline').log({ msg: 'client reaped', clientId: 'c-2', waitedMs: 12 }));
    expect(JSON.parse(out)).toMatchObject({ level: 'log', context: 'Lifeline', message: { msg: 'client reaped', clientId: 'c-2', waitedMs: 12 } });
    const entry = new LogEntry({ msg: 'x', a: 1 });
    expect({ ...entry }).toEqual({ msg: 'x', a: 1 });
  });
});
