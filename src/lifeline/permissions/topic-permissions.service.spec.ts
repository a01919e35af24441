import { EventEmitter2 } from '@nestjs/event-emitter';
import type { ClientRecord } from '../interfaces/client-record.interface';
import type { LifelineModuleOptions } from '../interfaces/lifeline-options.interface';
import { LifelineEvents, type TopicRefusedEvent } from '../lifeline.events';
import { resolveLifelineOptions } from '../lifeline.options';
import type { TopicPolicy } from './interfaces/topic-policy.interface';
import { parseTopicClaims } from './topic-claims';
import { TopicPermissions } from './topic-permissions.service';

function client(userId: string, topics?: unknown): ClientRecord {
  return { id: `id-${userId}`, userId, topicClaims: parseTopicClaims(topics), expiresAt: Number.NaN } as unknown as ClientRecord;
}

function permissions(options: LifelineModuleOptions, policy?: TopicPolicy) {
  const events = new EventEmitter2();
  const refused: TopicRefusedEvent[] = [];
  events.on(LifelineEvents.topicRefused, (e: TopicRefusedEvent) => refused.push(e));
  return { service: new TopicPermissions(resolveLifelineOptions(options), events, policy), refused };
}

describe('TopicPermissions', () => {
  it('claims first (the policy is not asked), then the policy, then the default', async () => {
    const asked: string[] = [];
    const policy: TopicPolicy = {
      canSubscribe: (c, topic) => {
        asked.push(`${c.userId}:${topic}`);
        return topic === 'yes' ? true : topic === 'no' ? false : undefined;
      },
    };
    const { service } = permissions({ defaultTopicPolicy: 'closed' }, policy);
    const claimed = client('claimed', { subscribe: ['no'] });
    expect(service.decide('subscribe', claimed, 'no', undefined)).toEqual({ allowed: true, by: 'claims' });
    expect(service.decide('subscribe', claimed, 'yes', undefined)).toEqual({ allowed: false, by: 'claims' });
    const plain = client('plain');
    expect(service.decide('subscribe', plain, 'yes', undefined)).toEqual({ allowed: true, by: 'policy' });
    expect(service.decide('subscribe', plain, 'no', undefined)).toEqual({ allowed: false, by: 'policy' });
    expect(service.decide('subscribe', plain, 'maybe', undefined)).toEqual({ allowed: false, by: 'default' });
    // No canPublish: the default decides.
    expect(service.decide('publish', plain, 'yes', 'data')).toEqual({ allowed: false, by: 'default' });
    expect(asked).toEqual(['plain:yes', 'plain:no', 'plain:maybe']);
    expect(await service.canSubscribe(plain, 'yes')).toBe(true);
  });

  it('answers synchronously unless an async policy is asked', async () => {
    const { service } = permissions({}, { canPublish: (_c, _t, data) => Promise.resolve(data === 'ok') });
    expect(service.decide('subscribe', client('a'), 't', undefined)).toEqual({ allowed: true, by: 'default' });
    const pending = service.decide('publish', client('a'), 't', 'ok');
    expect(pending).toBeInstanceOf(Promise);
    expect(await pending).toEqual({ allowed: true, by: 'policy' });
    expect(await service.decide('publish', client('a'), 't', 'nope')).toEqual({ allowed: false, by: 'policy' });
  });

  it('canSubscribe/canPublish count a refusal; decide alone counts nothing', async () => {
    const { service, refused } = permissions({ defaultTopicPolicy: 'closed' });
    void service.decide('subscribe', client('a'), 't', undefined);
    expect(refused).toEqual([]);
    expect(await service.canSubscribe(client('a'), 'restored')).toBe(false);
    expect(await service.canPublish(client('b'), 'p', 1)).toBe(false);
    expect(refused).toEqual([
      { clientId: 'id-a', action: 'subscribe', topic: 'restored', by: 'default' },
      { clientId: 'id-b', action: 'publish', topic: 'p', by: 'default' },
    ]);
  });

  it('a policy that throws, rejects, answers nonsense or times out refuses', async () => {
    const policy: TopicPolicy = {
      canSubscribe: (_c, topic) => {
        if (topic === 'throw') throw new Error('boom');
        if (topic === 'reject') return Promise.reject(new Error('nope'));
        if (topic === 'hang') return new Promise(() => undefined);
        return 1 as unknown as boolean;
      },
    };
    const { service } = permissions({ topicPolicyTimeoutMs: 50 }, policy);
    expect(service.decide('subscribe', client('a'), 'throw', undefined)).toEqual({ allowed: false, by: 'policy_error' });
    expect(await service.decide('subscribe', client('a'), 'reject', undefined)).toEqual({ allowed: false, by: 'policy_error' });
    expect(service.decide('subscribe', client('a'), 'number', undefined)).toEqual({ allowed: false, by: 'policy_error' });
    const started = Date.now();
    expect(await service.decide('subscribe', client('a'), 'hang', undefined)).toEqual({ allowed: false, by: 'policy_timeout' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
  });
});
