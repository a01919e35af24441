import {
  Body,
  Controller,
  Headers,
  HttpCode,
  HttpStatus,
  Param,
  Post,
  UnsupportedMediaTypeException,
  UseGuards,
} from '@nestjs/common';
import { ApiAcceptedResponse, ApiBearerAuth, ApiBody, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { TopicsService } from '../lifeline';
import { AdminTokenGuard } from './admin-token.guard';
import { topicParam } from './admin.schemas';
import { ZodValidationPipe } from './zod-validation.pipe';

@ApiTags('topics')
@ApiBearerAuth()
@UseGuards(AdminTokenGuard)
@Controller('topics')
export class TopicsController {
  constructor(private readonly topics: TopicsService) {}

  @Post(':topic/messages')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({ summary: 'Publish a message to the subscribers of a topic' })
  @ApiParam({ name: 'topic', description: '1-256 characters, no white space' })
  @ApiBody({ description: 'any JSON value, up to MAX_PAYLOAD_BYTES', schema: {} })
  @ApiAcceptedResponse({ description: '{ topic, recipients, epoch, offset } — recipients on this node; epoch and offset: the message\'s position in the topic\'s history' })
  async publish(
    @Param('topic', new ZodValidationPipe(topicParam, 'topic')) topic: string,
    @Headers('content-type') contentType: string | undefined,
    @Body() body: unknown,
  ): Promise<{ topic: string; recipients: number; epoch: string; offset: number }> {
    // Exactly what the JSON parser parses (application/json, any parameters): anything
    // else, even application/json-patch+json, leaves {} behind, which would be published.
    if (mediaType(contentType) !== 'application/json') {
      throw new UnsupportedMediaTypeException('the body must be JSON (Content-Type: application/json)');
    }
    const { recipients, epoch, offset } = await this.topics.publish(topic, body);
    return { topic, recipients, epoch, offset };
  }
}

/** The media type of a Content-Type header, lower-cased, without parameters. */
function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';', 1)[0].trim().toLowerCase();
}
