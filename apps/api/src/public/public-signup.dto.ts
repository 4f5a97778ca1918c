import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, Equals, IsArray, IsOptional, IsString, IsUUID, MaxLength } from 'class-validator';

export class PublicSubscriptionDto {
  @ApiPropertyOptional({ format: 'uuid', description: "The comune's channel; default its first one" })
  @IsOptional() @IsUUID('all', { message: 'channelId must be a UUID' })
  channelId?: string;

  @ApiProperty({ example: '347 123 4567' }) @IsString({ message: 'phone must be a valid phone number' }) @MaxLength(40)
  phone: string;

  @ApiPropertyOptional({ example: 'Giulia' }) @IsOptional() @IsString() @MaxLength(200)
  name?: string;

  @ApiPropertyOptional({ type: [String] }) @IsOptional() @IsArray() @ArrayMaxSize(50) @IsString({ each: true })
  topics?: string[];

  @ApiProperty({ enum: [true], description: 'The privacy notice was read and accepted' })
  @Equals(true, { message: 'privacyAccepted must be true' })
  privacyAccepted: boolean;

  @ApiPropertyOptional({ description: 'Leave empty (a field that people do not see, to stop bots)' })
  @IsOptional() @IsString() @MaxLength(500)
  website?: string;
}

export class PublicSubscriptionAcceptedDto {
  @ApiProperty({ enum: ['pending'] }) status: 'pending';
  @ApiProperty({ description: 'What to do next, in Italian' }) message: string;
}
