import type { INestApplication, Type } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ClientOptions } from 'ws';
import type { AppModuleOptions } from '../../src/app.module';
import { startApp } from '../../src/bootstrap';
import {
  ClientRegistryService,
  HeartbeatService,
  type LifelineGateway,
  TopicsService,
} from '../../src/lifeline';
import { CleanupPipeline } from '../../src/lifeline/cleanup/cleanup.pipeline';
import { CaptureLogger } from './capture-logger';
import { getJson } from './http';
import { TestClient } from './ws-client';

/** Short intervals so heartbeat behaviour shows within a test's time. */
export const TEST_ENV = {
  PORT: '0',
  HOST: '127.0.0.1',
  WS_PATH: '/ws',
  HEARTBEAT_INTERVAL_MS: '200',
  HEARTBEAT_TIMEOUT_MS: '100',
  CLEANUP_STEP_TIMEOUT_MS: '300',
  SHUTDOWN_GRACE_MS: '1000',
  LOG_LEVEL: 'silent',
};

export interface TestApp {
  app: INestApplication;
  baseUrl: string;
  wsUrl: string;
  logs: CaptureLogger;
  registry: ClientRegistryService;
  heartbeat: HeartbeatService;
  topics: TopicsService;
  pipeline: CleanupPipeline;
  join(options?: ClientOptions): Promise<TestClient & { id: string }>;
  /** GET a path; resolves with status and parsed JSON (or text). */
  get(path: string): Promise<{ status: number; body: unknown; text: string }>;
  /** Reads one sample from /metrics, e.g. metric('lifeline_disconnections_total', { reason: 'client_close' }). */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  /** Names of the timers the app holds in @nestjs/schedule's registry. */
  heartbeatTimers(): { intervals: string[]; timeouts: string[] };
  close(): Promise<void>;
}

export interface TestAppOptions {
  env?: Record<string, string>;
  gateway?: Type<LifelineGateway>;
  imports?: AppModuleOptions['imports'];
  topicPolicy?: AppModuleOptions['topicPolicy'];
}

/** Starts the real service on an ephemeral loopback port. */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const logs = new CaptureLogger();
  const app = await startApp({
    env: { ...TEST_ENV, ...options.env },
    gateway: options.gateway,
    imports: options.imports,
    topicPolicy: options.topicPolicy,
    logger: logs,
  });
  const { port } = (app.getHttpServer() as Server).address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  const wsUrl = `ws://127.0.0.1:${port}${options.env?.WS_PATH ?? TEST_ENV.WS_PATH}`;
  const clients: TestClient[] = [];

  const get = (path: string) => getJson(baseUrl + path);

  return {
    app,
    baseUrl,
    wsUrl,
    logs,
    registry: app.get(ClientRegistryService),
    heartbeat: app.get(HeartbeatService),
    topics: app.get(TopicsService),
    pipeline: app.get(CleanupPipeline),
    async join(clientOptions = {}) {
      const client = await TestClient.join(wsUrl, clientOptions);
      clients.push(client);
      return client;
    },
    get,
    async metric(name, labels = {}) {
      const { text } = await get('/metrics');
      const wanted = Object.entries(labels)
        .map(([k, v]) => `${k}="${v}"`)
        .join(',');
      const prefix = wanted ? `${name}{${wanted}} ` : `${name} `;
      const line = text.split('\n').find((l) => l.startsWith(prefix));
      if (!line) throw new Error(`metric ${prefix.trim()} not found`);
      return Number(line.slice(prefix.length));
    },
    heartbeatTimers() {
      const scheduler = app.get(SchedulerRegistry);
      return { intervals: scheduler.getIntervals(), timeouts: scheduler.getTimeouts() };
    },
    async close() {
      for (const client of clients) client.socket.terminate();
      await app.close();
    },
  };
}
