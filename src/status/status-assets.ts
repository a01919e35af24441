import { Injectable, type OnModuleInit } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LifelineLogger } from '../lifeline';

export interface StatusAsset {
  body: Buffer;
  contentType: string;
  etag: string;
}

/** The page's files, as scripts/build-status-page.js writes them. */
export const STATUS_ASSET_FILES = {
  'index.html': 'text/html; charset=utf-8',
  'status.js': 'text/javascript; charset=utf-8',
  'status.css': 'text/css; charset=utf-8',
} as const;
export type StatusAssetName = keyof typeof STATUS_ASSET_FILES;

/**
 * Where the built page is: dist/status/public beside the compiled module, or
 * (running from src/, as the tests do) the same folder under dist/.
 */
export function statusAssetsDir(): string | undefined {
  const candidates = [join(__dirname, 'public'), join(__dirname, '..', '..', 'dist', 'status', 'public')];
  return candidates.find((dir) => existsSync(join(dir, 'index.html')));
}

/**
 * The status page's HTML, script and style, read once at start (a few
 * hundred KB in memory; no disk access per request). Missing files are
 * reported, not fatal: the service runs without its page.
 */
@Injectable()
export class StatusAssets implements OnModuleInit {
  private readonly logger = new LifelineLogger('Status');
  private readonly files = new Map<StatusAssetName, StatusAsset>();

  onModuleInit(): void {
    this.load();
  }

  load(dir = statusAssetsDir()): void {
    this.files.clear();
    if (!dir) {
      this.logger.warn({ msg: 'status page not built (npm run build); GET /status answers 503' });
      return;
    }
    for (const [name, contentType] of Object.entries(STATUS_ASSET_FILES) as [StatusAssetName, string][]) {
      const path = join(dir, name);
      if (!existsSync(path)) continue;
      const body = readFileSync(path);
      const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
      this.files.set(name, { body, contentType, etag });
    }
  }

  get(name: StatusAssetName): StatusAsset | undefined {
    return this.files.get(name);
  }
}
