import { applyDecorators } from '@nestjs/common';
import { ApiBadRequestResponse, ApiBearerAuth, ApiForbiddenResponse, ApiNotFoundResponse, ApiProperty, ApiSecurity, ApiUnauthorizedResponse } from '@nestjs/swagger';

export class ErrorResponseDto {
  @ApiProperty({ example: 400 }) statusCode: number;
  @ApiProperty({ example: 'Bad Request' }) error: string;
  @ApiProperty({ oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }], example: ['phone must be a valid phone number'] })
  message: string | string[];
}

/** Security schemes and the errors every authenticated route may answer. */
export const ApiAuthenticated = () =>
  applyDecorators(
    ApiBearerAuth('bearer'),
    ApiSecurity('api-key'),
    ApiUnauthorizedResponse({ description: 'Missing or invalid credential', type: ErrorResponseDto }),
    ApiForbiddenResponse({ description: 'The credential lacks the role needed', type: ErrorResponseDto }),
    ApiBadRequestResponse({ description: 'Invalid input; the message names the field', type: ErrorResponseDto }),
  );

export const ApiNotFound = (what: string) => ApiNotFoundResponse({ description: `${what} not found (or belongs to another comune)`, type: ErrorResponseDto });
