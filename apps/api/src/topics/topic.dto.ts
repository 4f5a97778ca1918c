import { ApiProperty } from '@nestjs/swagger';
import { IsString, Matches, MaxLength, MinLength } from 'class-validator';
import { Topic } from '@app/subscribers';
import { NotBlank } from '../common/not-blank';

export class CreateTopicDto {
  @ApiProperty({ example: 'protezione-civile', description: 'lowercase letters, digits, - and _' })
  @IsString() @Matches(/^[a-z0-9][a-z0-9_-]{0,63}$/, { message: 'key must be 1-64 lowercase letters, digits, - or _' })
  key: string;

  @ApiProperty({ example: 'Protezione civile' }) @IsString() @MinLength(1) @MaxLength(200) @NotBlank()
  name: string;
}

export class TopicDto {
  @ApiProperty() id: string;
  @ApiProperty() key: string;
  @ApiProperty() name: string;
  @ApiProperty() createdAt: string;
}

export const toTopicResponse = (topic: Topic): TopicDto => ({ id: topic.id, key: topic.key, name: topic.name, createdAt: topic.createdAt.toISOString() });

export class TopicListDto {
  @ApiProperty({ type: [TopicDto] }) data: TopicDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor: string | null;
}
