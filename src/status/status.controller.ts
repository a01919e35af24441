import {
  Controller,
  Get,
  Headers,
  NotFoundException,
  Param,
  Query,
  Req,
  Res,
  ServiceUnavailableException,
  UseGuards,
} from '@nestjs/common';
import { ApiBearerAuth, ApiExcludeEndpoint, ApiOkResponse, ApiOperation, ApiProduces, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { AdminTokenGuard } from '../admin/admin-token.guard';
import { ZodValidationPipe } from '../admin/zod-validation.pipe';
import { ClientRegistryService, TopicsService } from '../lifeline';
import { searchClients } from './client-search';
import type { StatusClientsPage } from './interfaces';
import { STATUS_ASSET_FILES, type StatusAssetName, StatusAssets } from './status-assets';
import { StatusFeed } from './status-feed.service';
import { STATUS_CLIENTS_MAX_LIMIT } from './status.constants';

/**
 * The page can only run its own script and talk to its own origin; no frame
 * may embed it (it carries a kick button).
 */
const PAGE_HEADERS = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  // Revalidate each time (ETag): a new build is picked up at once.
  'Cache-Control': 'no-cache',
};

const clientsQuery = z.object({
  q: z.string().max(256, { message: 'must be at most 256 characters' }).optional().transform((v) => (v ?? '').trim()),
  limit: z
    .string()
    .regex(/^\d+$/, { message: `must be a whole number from 1 to ${STATUS_CLIENTS_MAX_LIMIT}` })
    .transform(Number)
    .refine((v) => v >= 1 && v <= STATUS_CLIENTS_MAX_LIMIT, { message: `must be a whole number from 1 to ${STATUS_CLIENTS_MAX_LIMIT}` })
    .optional()
    .transform((v) => v ?? 100),
});
type ClientsQuery = z.infer<typeof clientsQuery>;

/**
 * GET /status: the page (HTML, one script, one style sheet) is public, it
 * holds no data; everything it shows comes from /status/feed and
 * /status/clients, which need the operator API's ADMIN_TOKEN (the same
 * guard as /clients).
 */
@ApiTags('status')
@Controller('status')
export class StatusController {
  constructor(
    private readonly assets: StatusAssets,
    private readonly feed: StatusFeed,
    private readonly registry: ClientRegistryService,
    private readonly topics: TopicsService,
  ) {}

  @Get()
  @ApiExcludeEndpoint()
  page(@Headers('if-none-match') ifNoneMatch: string | undefined, @Res() res: Response): void {
    this.send('index.html', ifNoneMatch, res);
  }

  @Get('assets/:file')
  @ApiExcludeEndpoint()
  asset(@Param('file') file: string, @Headers('if-none-match') ifNoneMatch: string | undefined, @Res() res: Response): void {
    if (file === 'index.html' || !Object.hasOwn(STATUS_ASSET_FILES, file)) {
      throw new NotFoundException(`no status asset ${file}`);
    }
    this.send(file as StatusAssetName, ifNoneMatch, res);
  }

  @Get('feed')
  @UseGuards(AdminTokenGuard)
  @ApiBearerAuth()
  @ApiOperation({
    summary: 'Live status: Server-Sent Events, a "hello" (history) then a "sample" per second',
    description: 'Read it with fetch() and an Authorization header (EventSource cannot send one).',
  })
  @ApiProduces('text/event-stream')
  stream(@Req() req: Request, @Res() res: Response): void {
    const refusal = this.feed.refusal();
    if (refusal) throw new ServiceUnavailableException(refusal);
    res.status(200).set({
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      // Proxies (nginx) must pass each event on at once.
      'X-Accel-Buffering': 'no',
    });
    res.flushHeaders();
    req.socket.setNoDelay(true);
    const subscription = this.feed.subscribe({
      write: (chunk) => void res.write(chunk),
      get buffered() {
        return res.writableLength;
      },
      end: () => res.end(),
    });
    if ('refused' in subscription) {
      res.end();
      return;
    }
    res.on('close', subscription.unsubscribe);
  }

  @Get('clients')
  @UseGuards(AdminTokenGuard)
  @ApiBearerAuth()
  @ApiOperation({ summary: "This node's clients matching a search (id, user, address or topic), oldest first" })
  @ApiQuery({ name: 'q', required: false, description: 'case-insensitive substring; empty matches all' })
  @ApiQuery({ name: 'limit', required: false, description: `1-${STATUS_CLIENTS_MAX_LIMIT}, default 100` })
  @ApiOkResponse({ description: '{ items, total, matched, limit, q }' })
  clients(@Query(new ZodValidationPipe(clientsQuery, 'query')) query: ClientsQuery): StatusClientsPage {
    // On demand (a search), never per sample: the feed carries the unfiltered list itself.
    return searchClients(this.registry, this.topics, query.q, query.limit);
  }

  private send(name: StatusAssetName, ifNoneMatch: string | undefined, res: Response): void {
    const asset = this.assets.get(name);
    if (!asset) throw new ServiceUnavailableException('the status page is not built; run npm run build');
    res.set({ ...PAGE_HEADERS, ETag: asset.etag });
    if (ifNoneMatch === asset.etag) {
      res.status(304).end();
      return;
    }
    res.status(200).type(asset.contentType).send(asset.body);
  }
}
