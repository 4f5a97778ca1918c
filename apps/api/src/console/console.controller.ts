import { Controller, Get, Header, Param, Res } from '@nestjs/common';
import { ApiExcludeEndpoint, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { existsSync } from 'fs';
import { dirname, join } from 'path';
import { NotFoundError, Public } from '@app/core';

const ASSETS_DIR = join(__dirname, 'assets');
/** Files of the console, by the name they are served under. Nothing else is read from disk. */
const ASSETS: Record<string, { file: string; type: string }> = {
  'console.js': { file: join(ASSETS_DIR, 'console.js'), type: 'text/javascript; charset=utf-8' },
  'console.css': { file: join(ASSETS_DIR, 'console.css'), type: 'text/css; charset=utf-8' },
  // Chart.js, vendored from node_modules (no CDN: deployments may have no network).
  'chart.umd.min.js': { file: join(dirname(require.resolve('chart.js')), 'chart.umd.min.js'), type: 'text/javascript; charset=utf-8' },
};

/** Scripts and styles only from this origin; the API is called from the page with fetch. */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/**
 * The web console for comuni and the platform operator: a small single-page app over the public
 * REST API, logged in with the same JWT (kept in sessionStorage).
 */
@ApiTags('console')
@Controller('console')
export class ConsoleController {
  @Public()
  @Get()
  @Header('Content-Security-Policy', CSP)
  @Header('Cache-Control', 'no-cache')
  @ApiOperation({ summary: "The web console (HTML): the comune's overview and charts, campaigns (compose with a WhatsApp preview, send, follow), channels and keywords, citizens' messages; delivery health and approvals for the operator" })
  @ApiProduces('text/html')
  @ApiOkResponse({ description: 'The console page', schema: { type: 'string' } })
  page(@Res() response: Response): void {
    response.type('html').sendFile(join(ASSETS_DIR, 'index.html'));
  }

  @Public()
  @Get('assets/:name')
  @Header('Cache-Control', 'no-cache')
  @ApiExcludeEndpoint()
  asset(@Param('name') name: string, @Res() response: Response): void {
    const asset = Object.prototype.hasOwnProperty.call(ASSETS, name) ? ASSETS[name] : undefined;
    if (!asset || !existsSync(asset.file)) throw new NotFoundError('Asset');
    response.setHeader('Content-Type', asset.type);
    response.sendFile(asset.file);
  }
}
