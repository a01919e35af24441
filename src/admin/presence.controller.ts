import { Body, Controller, Get, HttpCode, HttpStatus, Param, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { MAX_PRESENCE_QUERY, PresenceService, type PresenceSnapshot, type UserPresence } from '../lifeline';
import { AdminTokenGuard } from './admin-token.guard';
import { topicParam } from './admin.schemas';
import { ZodValidationPipe } from './zod-validation.pipe';

/** A user id as a JWT `sub` may carry it: any text without control characters, up to 512 characters. */
const userIdParam = z
  .string()
  .min(1)
  .max(512)
  .regex(/^[^\p{Cc}]+$/u, 'must not contain control characters');

const presenceQuery = z.object({
  userIds: z.array(userIdParam).max(MAX_PRESENCE_QUERY, `at most ${MAX_PRESENCE_QUERY} ids per query`),
});
type PresenceQuery = z.infer<typeof presenceQuery>;

/** Who is online, cluster-wide in cluster mode (see README "Presence"). */
@ApiTags('presence')
@ApiBearerAuth()
@UseGuards(AdminTokenGuard)
@Controller()
export class PresenceController {
  constructor(private readonly presence: PresenceService) {}

  @Get('presence/users/:userId')
  @ApiOperation({ summary: "A user's presence" })
  @ApiParam({ name: 'userId', description: 'the JWT sub (or the id a connection guard set)' })
  @ApiOkResponse({ description: '{ userId, online, connections, nodes, since }' })
  user(@Param('userId', new ZodValidationPipe(userIdParam, 'user id')) userId: string): Promise<UserPresence> {
    return this.presence.user(userId);
  }

  @Post('presence/users/query')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Which of up to 1,000 users are online' })
  @ApiBody({ description: '{ "userIds": ["alice", "bob"] }', schema: {} })
  @ApiOkResponse({ description: '{ online: [ids], offline: [ids] }' })
  async query(@Body(new ZodValidationPipe(presenceQuery, 'body')) body: PresenceQuery): Promise<{ online: string[]; offline: string[] }> {
    const ids = [...new Set(body.userIds)];
    const flags = await this.presence.online(ids);
    return { online: ids.filter((_, i) => flags[i]), offline: ids.filter((_, i) => !flags[i]) };
  }

  @Get('topics/:topic/presence')
  @ApiOperation({ summary: "A topic's presence members" })
  @ApiParam({ name: 'topic', description: '1-256 characters, no white space' })
  @ApiOkResponse({ description: '{ topic, members: [{ userId, since }], count }' })
  async topic(@Param('topic', new ZodValidationPipe(topicParam, 'topic')) topic: string): Promise<{ topic: string } & PresenceSnapshot> {
    return { topic, ...(await this.presence.snapshot(topic)) };
  }
}
