import {
  Body,
  CallHandler,
  Controller,
  Delete,
  ExecutionContext,
  Get,
  HttpCode,
  Injectable,
  NestInterceptor,
  Param,
  Patch,
  PayloadTooLargeException,
  Post,
  Query,
  UploadedFile,
  UseInterceptors,
} from '@nestjs/common';
import { FileInterceptor } from '@nestjs/platform-express';
import type { Request } from 'express';
import { catchError, Observable, throwError } from 'rxjs';
import { ApiBody, ApiConflictResponse, ApiConsumes, ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { BadRequestError, CurrentPrincipal, CurrentTenant, Principal, TenantId } from '@app/core';
import { mapPage } from '@app/database';
import { ConsentSource, SubscriberImportService, SubscribersService, SubscriberStatus } from '@app/subscribers';
import { ApiAuthenticated, ApiNotFound, ErrorResponseDto } from '../common/api-responses';
import { IdParam } from '../common/id-param';
import { mediaType } from '../common/media-type';
import {
  CreateSubscriberDto,
  ImportResultDto,
  ImportSubscribersDto,
  SubscriberDto,
  SubscriberExportDto,
  SubscriberListDto,
  SubscriberListQueryDto,
  toSubscriberExport,
  toSubscriberResponse,
  UpdateSubscriberDto,
} from './subscriber.dto';

const MAX_IMPORT_BYTES = 50 * 1024 * 1024;

/**
 * The upload's own checks, after the credential's and before its fields are validated: a body of
 * another type than multipart is a 400 saying so (the HTTP app leaves this route's type to it), and
 * multer's "File too large" is said with the limit and what to do.
 */
@Injectable()
class ImportUpload implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const type = mediaType(context.switchToHttp().getRequest<Request>());
    if (type !== 'multipart/form-data') {
      throw new BadRequestError(`Content-Type must be multipart/form-data (the file in a field named file)${type ? `, not ${type.slice(0, 80)}` : ' (none was given)'}`);
    }
    const tooLarge = `file is larger than ${MAX_IMPORT_BYTES / 1024 / 1024} MB, the most one import takes: split the list into several files`;
    return next.handle().pipe(catchError((error: unknown) => throwError(() => (error instanceof PayloadTooLargeException ? new PayloadTooLargeException(tooLarge) : error))));
  }
}

const SUBSCRIBERS_PATH = 'v1/subscribers';
const IMPORT_ROUTE = 'import';
/** The CSV import's path: its body is an upload (multipart), not JSON. */
export const SUBSCRIBERS_IMPORT_PATH = `${SUBSCRIBERS_PATH}/${IMPORT_ROUTE}`;

@ApiTags('subscribers')
@Controller(SUBSCRIBERS_PATH)
@ApiAuthenticated()
export class SubscribersController {
  constructor(
    private readonly subscribers: SubscribersService,
    private readonly imports: SubscriberImportService,
  ) {}

  @Post()
  @ApiOperation({ summary: 'Add a subscriber who gave consent to the comune (consent source api)' })
  @ApiCreatedResponse({ type: SubscriberDto })
  @ApiConflictResponse({ description: 'Same channel and phone already subscribed', type: ErrorResponseDto })
  @ApiNotFound('Channel')
  async create(@CurrentTenant() tenantId: TenantId, @Body() body: CreateSubscriberDto): Promise<SubscriberDto> {
    return toSubscriberResponse(await this.subscribers.create(tenantId, { ...body, consentSource: ConsentSource.Api }));
  }

  @Post(IMPORT_ROUTE)
  @HttpCode(200)
  @UseInterceptors(ImportUpload, FileInterceptor('file', { limits: { fileSize: MAX_IMPORT_BYTES, files: 1 } }))
  @ApiOperation({
    summary: 'Import subscribers from a CSV',
    description:
      'Header `phone,name,topics`, or `phone;name;topics` as Excel saves CSV with the Italian locale: the separator (`,` or `;`) is taken from the header line. ' +
      'The Italian column names telefono, nome, argomenti are read too; a column it does not know, or an empty file, is a 400 naming it (its data would be lost). ' +
      'Each line is read as UTF-8, or as Windows-1252 (as Excel writes plain CSV on Italian Windows) when it is not valid UTF-8. ' +
      'Topics are separated by `|`; a phone given on several lines is one subscriber, its names and topics merged (`merged` counts the later lines). ' +
      `At most ${MAX_IMPORT_BYTES / 1024 / 1024} MB a file (413 beyond). ` +
      "`rejected[].line` is the file's line where the record starts (the header is line 1).",
  })
  @ApiConsumes('multipart/form-data')
  @ApiBody({
    schema: {
      type: 'object',
      required: ['file', 'channelId'],
      properties: {
        file: { type: 'string', format: 'binary', description: 'CSV with the header phone,name,topics or phone;name;topics' },
        channelId: { type: 'string', format: 'uuid' },
      },
    },
  })
  @ApiOkResponse({ type: ImportResultDto })
  @ApiNotFound('Channel')
  async import(@CurrentTenant() tenantId: TenantId, @Body() body: ImportSubscribersDto, @UploadedFile() file: { buffer: Buffer } | undefined): Promise<ImportResultDto> {
    if (!file) throw new BadRequestError('file is required (multipart field "file", a CSV)');
    return this.imports.import(tenantId, body.channelId, file.buffer);
  }

  @Get()
  @ApiOperation({ summary: 'Subscribers newest first, filtered by channel, status, topic and reachability (undeliverable)' })
  @ApiOkResponse({ type: SubscriberListDto })
  async list(@CurrentTenant() tenantId: TenantId, @Query() query: SubscriberListQueryDto): Promise<SubscriberListDto> {
    return mapPage(await this.subscribers.list(tenantId, { ...query, status: query.status as SubscriberStatus | undefined }), toSubscriberResponse);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One subscriber' })
  @ApiOkResponse({ type: SubscriberDto })
  @ApiNotFound('Subscriber')
  async get(@CurrentTenant() tenantId: TenantId, @Param('id', IdParam('Subscriber')) id: string): Promise<SubscriberDto> {
    return toSubscriberResponse(await this.subscribers.get(tenantId, id));
  }

  @Get(':id/export')
  @ApiOperation({ summary: 'Every datum held about the subscriber, consent history included (GDPR access)' })
  @ApiOkResponse({ type: SubscriberExportDto })
  @ApiNotFound('Subscriber')
  async export(@CurrentTenant() tenantId: TenantId, @Param('id', IdParam('Subscriber')) id: string): Promise<SubscriberExportDto> {
    return toSubscriberExport(await this.subscribers.export(tenantId, id));
  }

  @Patch(':id')
  @ApiOperation({ summary: "Change a subscriber's name or topics" })
  @ApiOkResponse({ type: SubscriberDto })
  @ApiNotFound('Subscriber')
  async update(@CurrentTenant() tenantId: TenantId, @Param('id', IdParam('Subscriber')) id: string, @Body() body: UpdateSubscriberDto): Promise<SubscriberDto> {
    return toSubscriberResponse(await this.subscribers.update(tenantId, id, body));
  }

  @Post(':id/unsubscribe')
  @HttpCode(200)
  @ApiOperation({ summary: 'Unsubscribe at once (a request made to the comune off WhatsApp)' })
  @ApiOkResponse({ type: SubscriberDto })
  @ApiNotFound('Subscriber')
  async unsubscribe(@CurrentTenant() tenantId: TenantId, @Param('id', IdParam('Subscriber')) id: string): Promise<SubscriberDto> {
    return toSubscriberResponse(await this.subscribers.unsubscribe(tenantId, id));
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({
    summary: "Erase the person's data (GDPR); only a keyed hash stays, so that they are not re-added without a new opt-in",
    description:
      'What the number writes afterwards is not taken as a subscription unless it is the subscribe keyword, and a CSV import refuses the number (a stale list would bring the person back). Adding them one by one (POST /v1/subscribers) is the comune stating that they gave consent again, and is taken.',
  })
  @ApiNoContentResponse({ description: 'Erased' })
  @ApiNotFound('Subscriber')
  async erase(@CurrentTenant() tenantId: TenantId, @CurrentPrincipal() principal: Principal, @Param('id', IdParam('Subscriber')) id: string): Promise<void> {
    await this.subscribers.erase(tenantId, id, principal);
  }
}
