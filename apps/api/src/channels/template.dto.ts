import { ApiProperty } from '@nestjs/swagger';
import { MessageTemplate, TemplateList } from '@app/channels';

export class MessageTemplateDto {
  @ApiProperty({ example: 'allerta_meteo' }) name: string;
  @ApiProperty({ example: 'it' }) language: string;
  @ApiProperty({ example: 'APPROVED', description: 'As WhatsApp last reported it; only APPROVED templates can be sent (APPROVED, PENDING, REJECTED, PAUSED, DISABLED, ...)' })
  status: string;
  @ApiProperty({ nullable: true, type: String, example: 'UTILITY' }) category: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'Why it is not approved, or what WhatsApp flagged' }) reason: string | null;
  @ApiProperty({ nullable: true, type: Number, example: 1, description: 'Values its body takes (a campaign’s bodyParameters); null when its text is not known' })
  bodyParameters: number | null;
  @ApiProperty({ nullable: true, type: [String], description: 'A named-format template’s parameter names, in the order bodyParameters fill them' })
  parameterNames: string[] | null;
  @ApiProperty() updatedAt: string;
}

export class MessageTemplateListDto {
  @ApiProperty({ type: [MessageTemplateDto] }) data: MessageTemplateDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'When the list was last read from WhatsApp; null: never (templates not heard of may still exist)' })
  syncedAt: string | null;
}

const toTemplateResponse = (t: MessageTemplate): MessageTemplateDto => ({
  name: t.name,
  language: t.language,
  status: t.status,
  category: t.category,
  reason: t.reason,
  bodyParameters: t.bodyParameterCount,
  parameterNames: t.bodyParameterNames,
  updatedAt: t.updatedAt.toISOString(),
});

export const toTemplateListResponse = ({ channel, templates }: TemplateList): MessageTemplateListDto => ({
  data: templates.data.map(toTemplateResponse),
  nextCursor: templates.nextCursor,
  syncedAt: channel.templatesSyncedAt?.toISOString() ?? null,
});
