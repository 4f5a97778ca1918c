import { Controller, Get, Header, Headers, HttpCode, Param, Post, Query, RawBodyRequest, Req, Res, UseInterceptors } from '@nestjs/common';
import { ApiForbiddenResponse, ApiHeader, ApiOkResponse, ApiOperation, ApiProduces, ApiQuery, ApiTags, ApiTooManyRequestsResponse, ApiUnauthorizedResponse } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { WebhookIngestionService } from '@app/channels';
import { Public } from '@app/core';
import { ApiNotFound, ErrorResponseDto } from '../common/api-responses';
import { RejectedWebhookLimiter } from './rejected-webhook.limiter';

/** Where Meta posts its webhooks (per channel, and the platform-wide URL); the body parsers read them raw. */
export const WEBHOOKS_PATH = 'v1/webhooks/whatsapp';

/**
 * WhatsApp webhooks (whatsapp-cloud-api.md §6): the handshake, and notifications verified on the
 * raw body, stored and queued before the 200. Processing happens in the worker.
 */
@ApiTags('webhooks')
@Controller(WEBHOOKS_PATH)
@Public()
@UseInterceptors(RejectedWebhookLimiter)
@ApiTooManyRequestsResponse({ description: 'Too many refused calls from this address in the last minute', type: ErrorResponseDto })
export class WebhooksController {
  constructor(private readonly ingestion: WebhookIngestionService) {}

  @Get()
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ summary: "Meta's verification handshake for the platform-wide URL: answers hub.challenge when hub.verify_token is one of the channels'" })
  @ApiQuery({ name: 'hub.mode', example: 'subscribe' })
  @ApiQuery({ name: 'hub.verify_token' })
  @ApiQuery({ name: 'hub.challenge' })
  @ApiProduces('text/plain')
  @ApiOkResponse({ description: 'The challenge, as plain text', schema: { type: 'string' } })
  @ApiForbiddenResponse({ description: 'No channel has this verify token', type: ErrorResponseDto })
  async platformHandshake(@Query() query: Record<string, unknown>, @Res({ passthrough: true }) response: Response): Promise<string> {
    const hub = hubParams(query);
    return asPlainText(response, await this.ingestion.platformHandshake(hub.mode, hub.token, hub.challenge));
  }

  @Get(':channelId')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ summary: "Meta's verification handshake: answers hub.challenge when hub.verify_token is the channel's" })
  @ApiQuery({ name: 'hub.mode', example: 'subscribe' })
  @ApiQuery({ name: 'hub.verify_token' })
  @ApiQuery({ name: 'hub.challenge' })
  @ApiProduces('text/plain')
  @ApiOkResponse({ description: 'The challenge, as plain text', schema: { type: 'string' } })
  @ApiForbiddenResponse({ description: 'Wrong verify token or unknown channel', type: ErrorResponseDto })
  async handshake(@Param('channelId') channelId: string, @Query() query: Record<string, unknown>, @Res({ passthrough: true }) response: Response): Promise<string> {
    const hub = hubParams(query);
    return asPlainText(response, await this.ingestion.handshake(channelId, hub.mode, hub.token, hub.challenge));
  }

  @Post(':channelId')
  @HttpCode(200)
  @ApiOperation({ summary: "A channel's notifications, signed with X-Hub-Signature-256 over the raw body (the channel's app secret)" })
  @ApiHeader({ name: 'X-Hub-Signature-256', required: true, description: 'sha256=<hex HMAC-SHA256 of the raw body>' })
  @ApiOkResponse({ description: 'Received; processed asynchronously', schema: { type: 'object', properties: { received: { type: 'boolean' } } } })
  @ApiUnauthorizedResponse({ description: 'Missing or wrong signature: nothing stored', type: ErrorResponseDto })
  @ApiNotFound('Channel')
  async receive(
    @Param('channelId') channelId: string,
    @Req() request: RawBodyRequest<Request>,
    @Headers('x-hub-signature-256') signature: string | undefined,
  ): Promise<{ received: true }> {
    await this.ingestion.receiveForChannel(channelId, request.rawBody, signature);
    return { received: true };
  }

  @Post()
  @HttpCode(200)
  @ApiOperation({
    summary: 'Platform-level notifications: each change is routed by metadata.phone_number_id, only to channels whose app secret verifies the signature',
  })
  @ApiHeader({ name: 'X-Hub-Signature-256', required: true })
  @ApiOkResponse({ description: 'Received; processed asynchronously', schema: { type: 'object', properties: { received: { type: 'boolean' } } } })
  @ApiUnauthorizedResponse({ description: 'No channel concerned verifies the signature: nothing stored', type: ErrorResponseDto })
  async receivePlatform(@Req() request: RawBodyRequest<Request>, @Headers('x-hub-signature-256') signature: string | undefined): Promise<{ received: true }> {
    await this.ingestion.receivePlatform(request.rawBody, signature);
    return { received: true };
  }
}

/** The handshake's hub.* parameters, each only when it is a single string. */
function hubParams(query: Record<string, unknown>): { mode?: string; token?: string; challenge?: string } {
  const pick = (key: string) => (typeof query[key] === 'string' ? (query[key] as string) : undefined);
  return { mode: pick('hub.mode'), token: pick('hub.verify_token'), challenge: pick('hub.challenge') };
}

/** The challenge goes back as plain text; a refusal (thrown before this) keeps the JSON error body and its type. */
function asPlainText(response: Response, challenge: string): string {
  response.type('text/plain; charset=utf-8');
  return challenge;
}
