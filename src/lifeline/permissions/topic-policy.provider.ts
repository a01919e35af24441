import type { Provider, Type } from '@nestjs/common';
import { TOPIC_POLICY } from './constants';
import type { TopicPolicy } from './interfaces/topic-policy.interface';

/**
 * The TOPIC_POLICY provider for `LifelineModule.forRoot({ topicPolicy })`:
 * a class is constructed by Nest inside LifelineModule (its dependencies come
 * from global modules, or from forRootAsync's `imports`); an object is used
 * as it is.
 */
export function topicPolicyProviders(policy: Type<TopicPolicy> | TopicPolicy | undefined): Provider[] {
  if (policy === undefined) return [];
  if (typeof policy === 'function') return [{ provide: TOPIC_POLICY, useClass: policy }];
  return [{ provide: TOPIC_POLICY, useValue: policy }];
}
