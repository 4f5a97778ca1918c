import { Body, Controller, Get, Post, Query } from '@nestjs/common';
import { ApiConflictResponse, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentTenant, TenantId } from '@app/core';
import { mapPage, PageQueryDto } from '@app/database';
import { TopicsService } from '@app/subscribers';
import { ApiAuthenticated, ErrorResponseDto } from '../common/api-responses';
import { CreateTopicDto, TopicDto, TopicListDto, toTopicResponse } from './topic.dto';

@ApiTags('topics')
@Controller('v1/topics')
@ApiAuthenticated()
export class TopicsController {
  constructor(private readonly topics: TopicsService) {}

  @Post()
  @ApiOperation({ summary: 'Create a topic citizens can follow' })
  @ApiCreatedResponse({ type: TopicDto })
  @ApiConflictResponse({ description: 'A topic with this key exists', type: ErrorResponseDto })
  async create(@CurrentTenant() tenantId: TenantId, @Body() body: CreateTopicDto): Promise<TopicDto> {
    return toTopicResponse(await this.topics.create(tenantId, body));
  }

  @Get()
  @ApiOperation({ summary: "The comune's topics" })
  @ApiOkResponse({ type: TopicListDto })
  async list(@CurrentTenant() tenantId: TenantId, @Query() page: PageQueryDto): Promise<TopicListDto> {
    return mapPage(await this.topics.list(tenantId, page), toTopicResponse);
  }
}
