import type { ClientOptions } from 'ws';
import { TestClient } from './ws-client';

/** A connection and the session its welcome gave it (for resume tests). */
export async function withSession(url: string, options: ClientOptions = {}): Promise<{ client: TestClient; id: string; token: string }> {
  const client = await TestClient.connect(url, options);
  const welcome = (await client.next('welcome')).data as { clientId: string; session: { token: string } };
  return { client, id: welcome.clientId, token: welcome.session.token };
}
