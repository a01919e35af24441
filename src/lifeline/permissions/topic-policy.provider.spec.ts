import { Inject, Injectable, type INestApplicationContext } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { ScheduleModule } from '@nestjs/schedule';
import { Test } from '@nestjs/testing';
import { LIFELINE_OPTIONS } from '../constants';
import type { ClientRecord } from '../interfaces/client-record.interface';
import type { ResolvedLifelineOptions } from '../interfaces/lifeline-options.interface';
import { LifelineModule } from '../lifeline.module';
import { TOPIC_POLICY } from './constants';
import type { TopicClient, TopicPolicy } from './interfaces/topic-policy.interface';
import { TopicPermissions } from './topic-permissions.service';

/** A policy with a dependency: constructed by Nest inside LifelineModule. */
@Injectable()
class PathPolicy implements TopicPolicy {
  constructor(@Inject(LIFELINE_OPTIONS) private readonly options: ResolvedLifelineOptions) {}
  canSubscribe(_client: TopicClient, topic: string): boolean {
    return topic.startsWith(this.options.path);
  }
}

const client = { id: 'c', userId: 'u', topicClaims: undefined } as unknown as ClientRecord;

async function compile(module: ReturnType<typeof LifelineModule.forRoot>): Promise<INestApplicationContext> {
  const ref = await Test.createTestingModule({ imports: [EventEmitterModule.forRoot(), ScheduleModule.forRoot(), module] }).compile();
  return ref;
}

describe('LifelineModule topicPolicy', () => {
  it('forRoot with a class: Nest constructs it with its dependencies and TopicPermissions asks it', async () => {
    const ref = await compile(LifelineModule.forRoot({ path: '/ws', topicPolicy: PathPolicy }));
    expect(ref.get(TOPIC_POLICY)).toBeInstanceOf(PathPolicy);
    const permissions = ref.get(TopicPermissions);
    expect(permissions.decide('subscribe', client, '/ws/room', undefined)).toEqual({ allowed: true, by: 'policy' });
    expect(permissions.decide('subscribe', client, 'room', undefined)).toEqual({ allowed: false, by: 'policy' });
  });

  it('forRootAsync with an instance; without one, the default decides', async () => {
    const instance: TopicPolicy = { canPublish: () => false };
    const withPolicy = await compile(LifelineModule.forRootAsync({ topicPolicy: instance, useFactory: () => ({}) }));
    expect(withPolicy.get(TOPIC_POLICY)).toBe(instance);
    expect(withPolicy.get(TopicPermissions).decide('publish', client, 't', 1)).toEqual({ allowed: false, by: 'policy' });
    const without = await compile(LifelineModule.forRoot({ defaultTopicPolicy: 'closed' }));
    expect(() => without.get<TopicPolicy>(TOPIC_POLICY)).toThrow();
    expect(without.get(TopicPermissions).decide('publish', client, 't', 1)).toEqual({ allowed: false, by: 'default' });
  });
});
