import { ApiProperty } from '@nestjs/swagger';
import { IsString, MaxLength, MinLength } from 'class-validator';
import { ApiKey } from '@app/auth';
import { NotBlank } from '../common/not-blank';

export class CreateApiKeyDto {
  @ApiProperty({ example: 'Protezione civile - sistema allerte' })
  @IsString() @MinLength(1) @MaxLength(100) @NotBlank()
  name: string;
}

export class ApiKeyDto {
  @ApiProperty() id: string;
  @ApiProperty() name: string;
  @ApiProperty({ description: 'First characters of the key, to recognise it' }) prefix: string;
  @ApiProperty({ nullable: true, type: String }) lastUsedAt: string | null;
  @ApiProperty() createdAt: string;
}

export class CreatedApiKeyDto {
  @ApiProperty() id: string;
  @ApiProperty() name: string;
  @ApiProperty({ description: 'The key for `X-API-Key`, shown only in this response' }) key: string;
}

export class ApiKeyListDto {
  @ApiProperty({ type: [ApiKeyDto] }) data: ApiKeyDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor: string | null;
}

export const toApiKeyResponse = (apiKey: ApiKey): ApiKeyDto => ({
  id: apiKey.id,
  name: apiKey.name,
  prefix: `fd_${apiKey.keyPrefix}`,
  lastUsedAt: apiKey.lastUsedAt?.toISOString() ?? null,
  createdAt: apiKey.createdAt.toISOString(),
});
