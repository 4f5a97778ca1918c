import { Body, Controller, Get, Header, HttpCode, Param, Post, Res, UseGuards } from '@nestjs/common';
import type { Response } from 'express';
import { ApiAcceptedResponse, ApiBadRequestResponse, ApiOkResponse, ApiOperation, ApiProduces, ApiTags, ApiTooManyRequestsResponse } from '@nestjs/swagger';
import { Throttle, ThrottlerGuard } from '@nestjs/throttler';
import { NotFoundError, Public } from '@app/core';
import { PublicSignupService } from '@app/subscribers';
import { ApiNotFound, ErrorResponseDto } from '../common/api-responses';
import { PublicSubscriptionAcceptedDto, PublicSubscriptionDto } from './public-signup.dto';
import { renderSignupPage, renderUnknownComunePage, SIGNUP_PAGE_CSP } from './signup-page';

const ACCEPTED: PublicSubscriptionAcceptedDto = {
  status: 'pending',
  message: "Per confermare l'iscrizione scrivi ATTIVA ISCRIZIONE su WhatsApp al numero del Comune.",
};

/** Citizens' own signup, from the comune's page (double opt-in: confirmed over WhatsApp). */
@ApiTags('public')
@Controller()
@Public()
@UseGuards(ThrottlerGuard)
export class PublicSignupController {
  constructor(private readonly signups: PublicSignupService) {}

  @Get('c/:slug')
  @Throttle({ default: { limit: 120, ttl: 60_000 } })
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Cache-Control', 'no-cache')
  @Header('Content-Security-Policy', SIGNUP_PAGE_CSP)
  @ApiOperation({ summary: "The comune's subscription page (HTML, Italian)" })
  @ApiProduces('text/html')
  @ApiOkResponse({ description: 'The page', schema: { type: 'string' } })
  @ApiNotFound('Comune')
  async page(@Param('slug') slug: string, @Res({ passthrough: true }) response: Response): Promise<string> {
    try {
      return renderSignupPage(await this.signups.page(slug), slug);
    } catch (error) {
      // A citizen who followed a wrong link gets a page, not the API's JSON.
      if (!(error instanceof NotFoundError)) throw error;
      response.status(404);
      return renderUnknownComunePage();
    }
  }

  @Post('v1/public/:slug/subscriptions')
  @HttpCode(202)
  @Throttle({ default: { limit: 30, ttl: 60_000 } })
  @ApiOperation({ summary: 'A citizen asks to subscribe; pending until they confirm over WhatsApp with the subscribe keyword' })
  @ApiAcceptedResponse({ type: PublicSubscriptionAcceptedDto })
  @ApiBadRequestResponse({ description: 'Invalid phone, privacy not accepted, unknown topic', type: ErrorResponseDto })
  @ApiTooManyRequestsResponse({ description: 'Too many requests from this address', type: ErrorResponseDto })
  @ApiNotFound('Comune or channel')
  async subscribe(@Param('slug') slug: string, @Body() body: PublicSubscriptionDto): Promise<PublicSubscriptionAcceptedDto> {
    // Honeypot: people do not see the field, bots fill it. Same answer, nothing stored.
    if (body.website) return ACCEPTED;
    const { website: _ignored, ...request } = body;
    await this.signups.request(slug, request);
    return ACCEPTED;
  }
}
