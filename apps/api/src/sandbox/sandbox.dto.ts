import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength, MinLength } from 'class-validator';
import { SandboxMessage } from '@app/channels';

export class SimulatedInboundDto {
  @ApiProperty({ example: '+39 347 821 5604', description: "The simulated citizen's phone" }) @IsString() @MinLength(3) @MaxLength(40)
  from: string;

  @ApiPropertyOptional({ example: 'Giulia' }) @IsOptional() @IsString() @MaxLength(100)
  name?: string;

  @ApiPropertyOptional({ example: 'ATTIVA ISCRIZIONE' }) @IsOptional() @IsString() @MinLength(1) @MaxLength(4096)
  text?: string;

  @ApiPropertyOptional({ description: 'Tap a reply button (a poll option id: poll:<campaignId>:<n>)' }) @IsOptional() @IsString() @MaxLength(256)
  buttonReplyId?: string;

  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(20)
  buttonTitle?: string;

  @ApiPropertyOptional({ description: "Tap a template's quick-reply button" }) @IsOptional() @IsString() @MaxLength(256)
  quickReplyPayload?: string;

  @ApiPropertyOptional({ example: '👍', description: 'React to contextMessageId' }) @IsOptional() @IsString() @MaxLength(16)
  reaction?: string;

  @ApiPropertyOptional({ description: "wamid of the comune's message being answered" }) @IsOptional() @IsString() @MaxLength(255)
  contextMessageId?: string;
}

export class SimulatedInboundAcceptedDto {
  @ApiProperty() wamid: string;
  @ApiProperty({ example: '+393478215604' }) contact: string;
}

export class SandboxMessageDto {
  @ApiProperty() id: string;
  @ApiProperty({ enum: ['outbound', 'inbound'] }) direction: string;
  @ApiProperty() contact: string;
  @ApiProperty() wamid: string;
  @ApiProperty({ nullable: true, type: String, description: 'What the phone shows' }) text: string | null;
  @ApiProperty({ type: Object, description: 'The message as sent to / received from the Graph API' }) payload: Record<string, unknown>;
  @ApiProperty() createdAt: string;
}

/** What a phone would display for a stored message. */
function displayText(payload: Record<string, unknown>): string | null {
  const p = payload as {
    type?: string;
    text?: { body?: string };
    interactive?: { body?: { text?: string }; button_reply?: { title?: string }; action?: { buttons?: { reply?: { title?: string } }[] } };
    template?: { name?: string; components?: { type?: string; parameters?: { text?: string }[] }[] };
    image?: { caption?: string; link?: string };
    reaction?: { emoji?: string };
    button?: { text?: string };
  };
  switch (p.type) {
    case 'text':
      return p.text?.body ?? null;
    case 'interactive': {
      if (p.interactive?.button_reply) return p.interactive.button_reply.title ?? null;
      const buttons = p.interactive?.action?.buttons?.map((b) => `[${b.reply?.title ?? ''}]`).join(' ');
      return [p.interactive?.body?.text, buttons].filter(Boolean).join('\n');
    }
    case 'template': {
      const params = p.template?.components?.find((c) => c.type === 'body')?.parameters?.map((x) => x.text).filter(Boolean) ?? [];
      return `[modello ${p.template?.name ?? ''}] ${params.join(' · ')}`.trim();
    }
    case 'image':
      return `[immagine ${p.image?.link ?? ''}] ${p.image?.caption ?? ''}`.trim();
    case 'reaction':
      return p.reaction?.emoji ?? null;
    case 'button':
      return p.button?.text ?? null;
    default:
      return null;
  }
}

export const toSandboxMessageResponse = (m: SandboxMessage): SandboxMessageDto => ({
  id: String(m.id),
  direction: m.direction,
  contact: m.contact,
  wamid: m.providerMessageId,
  text: displayText(m.payload),
  payload: m.payload,
  createdAt: m.createdAt.toISOString(),
});

export class SandboxConversationDto {
  @ApiProperty() contact: string;
  @ApiProperty({ type: [SandboxMessageDto] }) data: SandboxMessageDto[];
}

export class SandboxContactDto {
  @ApiProperty() contact: string;
  @ApiProperty() messages: number;
  @ApiProperty() lastAt: string;
}

export class SandboxContactListDto {
  @ApiProperty({ type: [SandboxContactDto] }) data: SandboxContactDto[];
}
