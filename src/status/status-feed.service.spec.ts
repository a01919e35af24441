import { ConfigService } from '@nestjs/config';
import { SchedulerRegistry } from '@nestjs/schedule';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BackpressureService, ClientRegistryService } from '../lifeline';
import { MetricsService } from '../metrics/metrics.service';
import type { StatusSnapshot } from './interfaces';
import { StatusFeed, type StatusViewer } from './status-feed.service';
import { StatusHistory } from './status-history.service';
import type { StatusSampler } from './status-sampler';
import { STATUS_FEED_TIMER_NAME, STATUS_MAX_VIEWER_BUFFER_BYTES, STATUS_MAX_VIEWERS } from './status.constants';

/**
 * The feed's own bookkeeping: one timer while anyone watches, one text per
 * sample for all, slow and surplus viewers. The sampler here only counts its
 * calls; the real one runs in test/status-page.e2e-spec.ts.
 */
describe('StatusFeed', () => {
  let scheduler: SchedulerRegistry;
  let samples: number;
  let feed: StatusFeed;

  beforeEach(() => {
    scheduler = new SchedulerRegistry();
    samples = 0;
    const sampler = {
      sample: (viewers: number) => Promise.resolve({ n: ++samples, viewers } as unknown as StatusSnapshot),
      reset: () => undefined,
      clientList: () => undefined,
    } as unknown as StatusSampler;
    const metrics = new MetricsService({ size: 0 } as ClientRegistryService, { flaggedCount: 0 } as BackpressureService);
    feed = new StatusFeed(sampler, new StatusHistory(), scheduler, metrics, new ConfigService({}));
  });
  afterEach(() => feed.beforeApplicationShutdown());

  const viewer = (buffered = 0) => {
    const v = {
      chunks: [] as (string | Buffer)[],
      get texts() {
        return v.chunks.map(String);
      },
      ended: false,
      buffered,
      write: (c: string | Buffer) => v.chunks.push(c),
      end: () => (v.ended = true),
    };
    return v satisfies StatusViewer;
  };
  const subscribe = (v: StatusViewer) => {
    const result = feed.subscribe(v);
    if ('refused' in result) throw new Error(result.refused);
    return result.unsubscribe;
  };

  it('samples only while someone watches, and sends every viewer the same text', async () => {
    expect(scheduler.getIntervals()).toEqual([]);
    const a = viewer();
    const b = viewer();
    const leaveA = subscribe(a);
    const leaveB = subscribe(b);
    expect(feed.running).toBe(true);
    expect(scheduler.getIntervals()).toEqual([STATUS_FEED_TIMER_NAME]);
    expect(a.texts[0]).toMatch(/^event: hello\ndata: \{.*\}\n\n$/);

    await sleep(1200);
    const sampleChunks = (v: { chunks: (string | Buffer)[] }) => v.chunks.filter((c) => String(c).startsWith('event: sample'));
    expect(sampleChunks(a).length).toBeGreaterThanOrEqual(1);
    // One serialisation per sample, shared: the same bytes (one Buffer) go to both.
    expect(sampleChunks(b).at(-1)).toBe(sampleChunks(a).at(-1));
    expect(Buffer.isBuffer(sampleChunks(a).at(-1))).toBe(true);
    expect(samples).toBeLessThanOrEqual(3);

    leaveA();
    expect(feed.running).toBe(true);
    leaveB();
    expect(feed.running).toBe(false);
    expect(scheduler.getIntervals()).toEqual([]);
    const taken = samples;
    await sleep(1100);
    expect(samples).toBe(taken);
  });

  it('drops a viewer that stopped reading, and refuses viewers beyond the limit', async () => {
    const stuck = viewer(STATUS_MAX_VIEWER_BUFFER_BYTES + 1);
    subscribe(stuck);
    await sleep(50);
    expect(stuck.ended).toBe(true);
    expect(feed.viewerCount).toBe(0);
    expect(feed.running).toBe(false);

    for (let i = 0; i < STATUS_MAX_VIEWERS; i++) subscribe(viewer());
    expect(feed.subscribe(viewer())).toEqual({ refused: expect.stringContaining('too many status viewers') });
  });

  it('ends every stream at shutdown and takes no new viewer', () => {
    const a = viewer();
    subscribe(a);
    feed.beforeApplicationShutdown();
    expect(a.ended).toBe(true);
    expect(feed.running).toBe(false);
    expect(feed.subscribe(viewer())).toEqual({ refused: 'shutting down' });
  });
});
