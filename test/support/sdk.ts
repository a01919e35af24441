import type { ClientState, LifelineClient, MessageMeta, ResyncEvent } from '../../client/src';
import type { LifelineError } from '../../client/src/errors';

/** Everything an SDK client reported, with the time of each state change. */
export function watchClient(client: LifelineClient) {
  const seen = {
    states: [] as { state: ClientState; at: number; retryInMs?: number }[],
    errors: [] as LifelineError[],
    resyncs: [] as ResyncEvent[],
  };
  client.on('state', (state, detail) => seen.states.push({ state, at: Date.now(), retryInMs: detail.retryInMs }));
  client.on('error', (e) => seen.errors.push(e));
  client.on('resync', (r) => seen.resyncs.push(r));
  return seen;
}

/** Subscribes and collects what arrives. */
export function collect(client: LifelineClient, topic: string) {
  const got: { data: unknown; meta: MessageMeta }[] = [];
  client.subscribe(topic, (data, meta) => got.push({ data, meta }));
  return got;
}
