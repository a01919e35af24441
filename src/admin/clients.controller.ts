import {
  Controller,
  Delete,
  Get,
  Inject,
  NotFoundException,
  Optional,
  Param,
  Query,
  ServiceUnavailableException,
  UseGuards,
} from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiParam, ApiQuery, ApiTags } from '@nestjs/swagger';
import { ClientRegistryService, CloseCodes, LifecycleService, TopicsService } from '../lifeline';
import { AdminTokenGuard } from './admin-token.guard';
import { clientId, listClientsQuery, type ListClientsQuery } from './admin.schemas';
import { type ClientView, toClientView } from './client-view';
import { CLUSTER_DIRECTORY, type ClusterDirectory } from './cluster-directory';
import { ZodValidationPipe } from './zod-validation.pipe';

export interface ClientPage {
  items: ClientView[] | unknown[];
  total: number;
  limit: number;
  offset: number;
  scope: 'local' | 'cluster';
}

@ApiTags('clients')
@ApiBearerAuth()
@UseGuards(AdminTokenGuard)
@Controller('clients')
export class ClientsController {
  constructor(
    private readonly registry: ClientRegistryService,
    private readonly lifecycle: LifecycleService,
    private readonly topics: TopicsService,
    @Optional() @Inject(CLUSTER_DIRECTORY) private readonly cluster?: ClusterDirectory,
  ) {}

  @Get()
  @ApiOperation({ summary: 'List connected clients, oldest first' })
  @ApiQuery({ name: 'limit', required: false, description: '1-1000, default 100' })
  @ApiQuery({ name: 'offset', required: false, description: 'default 0' })
  @ApiQuery({ name: 'scope', required: false, enum: ['local', 'cluster'], description: 'cluster needs REDIS_URL' })
  @ApiOkResponse({ description: '{ items, total, limit, offset, scope }' })
  async list(@Query(new ZodValidationPipe(listClientsQuery, 'query')) query: ListClientsQuery): Promise<ClientPage> {
    const { limit, offset, scope } = query;
    if (scope === 'cluster') {
      if (!this.cluster) throw new ServiceUnavailableException('cluster scope needs cluster mode (REDIS_URL)');
      const all = await this.cluster.listClients();
      return { items: all.slice(offset, offset + limit), total: all.length, limit, offset, scope };
    }
    const items: ClientView[] = [];
    let index = 0;
    // Walks the live map without copying it; stops at the page's end.
    for (const record of this.registry.values()) {
      if (index >= offset + limit) break;
      if (index++ >= offset) items.push(toClientView(record, this.topics));
    }
    return { items, total: this.registry.size, limit, offset, scope };
  }

  @Get(':id')
  @ApiOperation({ summary: 'One connected client' })
  @ApiParam({ name: 'id', description: 'client id (UUID)' })
  get(@Param('id', new ZodValidationPipe(clientId, 'client id')) id: string): ClientView {
    const record = this.registry.get(id);
    if (!record) throw new NotFoundException(`no connected client ${id}`);
    return toClientView(record, this.topics);
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Disconnect a client (close 1008 "kicked")' })
  @ApiParam({ name: 'id', description: 'client id (UUID)' })
  async kick(@Param('id', new ZodValidationPipe(clientId, 'client id')) id: string): Promise<{ id: string; kicked: true }> {
    const record = this.registry.get(id);
    if (!record) throw new NotFoundException(`no connected client ${id}`);
    await this.lifecycle.disconnect(record, 'kicked', CloseCodes.policyViolation, 'kicked');
    return { id, kicked: true };
  }
}
