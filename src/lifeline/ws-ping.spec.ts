import { readFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { Loopback } from '../../test/support/loopback';
import { pingFrame, sendPing, WS_SEAM_PIN, WS_SENDER_DEFAULT } from './ws-ping';

/**
 * The ping seam writes frames past ws's Sender. When this spec fails, ws
 * changed under it: read src/lifeline/ws-ping.ts against the new ws, adapt
 * it, then move WS_SEAM_PIN. The public ping() is the fallback throughout.
 */
describe('ws ping seam (pinned to the ws minor)', () => {
  let loop: Loopback;

  beforeEach(async () => {
    loop = await Loopback.start();
  });

  afterEach(async () => {
    await loop.close();
  });

  it('runs on the pinned ws minor', () => {
    const { version } = JSON.parse(readFileSync(require.resolve('ws/package.json'), 'utf8')) as { version: string };
    expect(version.split('.').slice(0, 2).join('.')).toBe(WS_SEAM_PIN);
  });

  it('ws still writes to _socket directly only while its sender is in the DEFAULT state', () => {
    const source = readFileSync(join(dirname(require.resolve('ws/package.json')), 'lib', 'sender.js'), 'utf8');
    expect(source).toContain(`const DEFAULT = ${WS_SENDER_DEFAULT};`);
    // Everything the sender defers (deflate, Blob reads) goes through its queue while not DEFAULT.
    expect(source).toContain('} else if (this._state !== DEFAULT) {\n      this.enqueue([this.dispatch, data, false, options, cb]);');
  });

  it('an idle server socket takes the raw path; the client sees a ping with the payload and answers with it', async () => {
    const { socket, client } = await loop.connect();
    const internals = socket as unknown as { _sender: { _state: number }; _socket: unknown };
    expect(internals._sender._state).toBe(WS_SENDER_DEFAULT);
    expect(internals._socket).toBeInstanceOf(Socket);

    const payload = Buffer.from('0123abcd');
    const pongs: Buffer[] = [];
    socket.on('pong', (data: Buffer) => pongs.push(data));
    const pinged = new Promise<Buffer>((resolve) => client.socket.once('ping', resolve));
    expect(sendPing(socket, pingFrame(payload), payload)).toBe(true);
    expect(await pinged).toEqual(payload);
    await new Promise((resolve) => socket.once('pong', resolve));
    expect(pongs).toEqual([payload]);
  });

  it('frames stay in order around a raw ping: a message sent before arrives before the ping', async () => {
    const { socket, client } = await loop.connect();
    const seen: string[] = [];
    const all = new Promise<void>((resolve) => {
      const note = (entry: string) => {
        seen.push(entry);
        if (seen.length === 3) resolve();
      };
      client.socket.on('message', (data: Buffer) => note(`message ${data.toString()}`));
      client.socket.on('ping', (data: Buffer) => note(`ping ${data.toString()}`));
    });
    socket.send('{"event":"before"}');
    const payload = Buffer.from('token-01');
    sendPing(socket, pingFrame(payload), payload);
    socket.send('{"event":"after"}');
    await all;
    expect(seen).toEqual(['message {"event":"before"}', 'ping token-01', 'message {"event":"after"}']);
  });

  it('falls back to ws.ping() when the sender has something queued', async () => {
    const { socket } = await loop.connect();
    const internals = socket as unknown as { _sender: { _state: number }; _socket: Socket };
    // ws's ping() would queue behind the pretended work; only the choice is under test.
    const ping = jest.spyOn(socket, 'ping').mockImplementation(() => undefined);
    const write = jest.spyOn(internals._socket, 'write');
    internals._sender._state = 1; // as while deflating
    const payload = Buffer.from('queued!!');
    try {
      expect(sendPing(socket, pingFrame(payload), payload)).toBe(false);
    } finally {
      internals._sender._state = WS_SENDER_DEFAULT;
    }
    expect(ping).toHaveBeenCalledWith(payload);
    expect(write).not.toHaveBeenCalled();
  });

  it('pingFrame: FIN + opcode 9, unmasked length, the payload; refuses more than 125 bytes', () => {
    expect([...pingFrame(Buffer.from([1, 2, 3]))]).toEqual([0x89, 3, 1, 2, 3]);
    expect(() => pingFrame(Buffer.alloc(126))).toThrow(RangeError);
  });
});
