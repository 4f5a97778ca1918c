import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';
import { Page, PageQueryDto, TenantScopedRepository } from '@app/database';
import type { TenantId } from '@app/core';
import { Channel, ChannelProvider } from './channel.entity';
import { MessageTemplate, SENDABLE_TEMPLATE_STATUS } from './message-template.entity';

/** What the platform knows of a template a message names. */
export type TemplateStanding =
  /** a sandbox channel, or a WABA whose list was never synced: Meta decides at send time */
  | { known: false }
  | { known: true; template: MessageTemplate | null };

/** A template as the sync writes it (Meta's list, one WABA). */
export interface ListedTemplate {
  name: string;
  language: string;
  status: string;
  category: string | null;
  providerTemplateId: string | null;
  bodyParameterCount: number;
  bodyParameterNames: string[] | null;
  quickReplies: { index: number; text: string }[];
}

@Injectable()
export class MessageTemplatesRepository extends TenantScopedRepository<MessageTemplate> {
  constructor(@InjectRepository(MessageTemplate) repository: Repository<MessageTemplate>) {
    super(repository, 'Template');
  }

  /** A page of the WABA's templates (keyset on id, as every list). */
  pageOfWaba(tenantId: TenantId, wabaId: string, page: PageQueryDto): Promise<Page<MessageTemplate>> {
    return this.list(tenantId, page, (qb) => qb.andWhere(`${qb.alias}.waba_id = :wabaId`, { wabaId }));
  }

  /**
   * The standing of the template `name`/`language` on the channel's WABA: unknown before a first
   * sync (and always on a sandbox), else the template, or null when the WABA has no such template.
   */
  async standing(tenantId: TenantId, channel: Pick<Channel, 'provider' | 'wabaId' | 'templatesSyncedAt'>, name: string, language: string, manager?: EntityManager): Promise<TemplateStanding> {
    if (channel.provider === ChannelProvider.Sandbox) return { known: false };
    const template = await this.scoped(tenantId, 't', manager)
      .andWhere('t.waba_id = :wabaId AND t.name = :name AND t.language = :language', { wabaId: channel.wabaId, name, language })
      .getOne();
    // Heard of by webhook before any sync: known itself, but other names are not known to be missing.
    if (!template && !channel.templatesSyncedAt) return { known: false };
    return { known: true, template };
  }

  /**
   * Meta's list for one WABA, written in one transaction: every listed template inserted or
   * updated, those no longer listed marked DELETED, the WABA's channels stamped as synced.
   * Answers how many templates changed status.
   */
  async replaceList(tenantId: TenantId, wabaId: string, templates: ListedTemplate[], at: Date): Promise<number> {
    return this.repository.manager.transaction(async (manager) => {
      const [changed] = (await manager.query(
        `WITH listed AS (
           SELECT * FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int[], $9::jsonb[], $11::jsonb[]) AS l(name, language, status, category, provider_template_id, body_parameter_count, names, quick_replies)
         ), before AS (
           SELECT name, language, status FROM message_templates WHERE tenant_id = $1 AND waba_id = $2
         ), upserted AS (
           INSERT INTO message_templates (tenant_id, waba_id, name, language, status, category, provider_template_id, reason, body_parameter_count, body_parameter_names, quick_replies, updated_at)
           SELECT $1, $2, l.name, l.language, l.status, l.category, l.provider_template_id, NULL, l.body_parameter_count,
                  CASE WHEN jsonb_typeof(l.names) = 'array' THEN ARRAY(SELECT jsonb_array_elements_text(l.names)) END,
                  l.quick_replies, $10
             FROM listed l
           ON CONFLICT (tenant_id, waba_id, name, language) DO UPDATE SET
             status = EXCLUDED.status, category = EXCLUDED.category, provider_template_id = EXCLUDED.provider_template_id,
             -- a reason given by webhook stays while the status it explains does
             reason = CASE WHEN message_templates.status = EXCLUDED.status THEN message_templates.reason ELSE NULL END,
             body_parameter_count = EXCLUDED.body_parameter_count, body_parameter_names = EXCLUDED.body_parameter_names, quick_replies = EXCLUDED.quick_replies, updated_at = EXCLUDED.updated_at
           RETURNING name, language, status
         ), gone AS (
           UPDATE message_templates m SET status = 'DELETED', reason = 'no longer listed by WhatsApp', updated_at = $10
            WHERE m.tenant_id = $1 AND m.waba_id = $2 AND m.status <> 'DELETED'
              AND NOT EXISTS (SELECT 1 FROM listed l WHERE l.name = m.name AND l.language = m.language)
           RETURNING name
         )
         SELECT (SELECT count(*) FROM upserted u LEFT JOIN before b ON b.name = u.name AND b.language = u.language WHERE b.status IS DISTINCT FROM u.status)::int
              + (SELECT count(*) FROM gone)::int AS changed`,
        [
          tenantId,
          wabaId,
          templates.map((t) => t.name),
          templates.map((t) => t.language),
          templates.map((t) => t.status),
          templates.map((t) => t.category),
          templates.map((t) => t.providerTemplateId),
          templates.map((t) => t.bodyParameterCount),
          templates.map((t) => JSON.stringify(t.bodyParameterNames)),
          at,
          templates.map((t) => JSON.stringify(t.quickReplies)),
        ],
      )) as { changed: number }[];
      await manager.query(`UPDATE channels SET templates_synced_at = $3 WHERE tenant_id = $1 AND waba_id = $2 AND provider = 'whatsapp_cloud'`, [tenantId, wabaId, at]);
      return changed.changed;
    });
  }

  /**
   * A status (or category) Meta reported for one template; inserts it when not known yet. Answers
   * the status before (null when it was not known) and after.
   */
  async applyReport(
    tenantId: TenantId,
    wabaId: string,
    report: { name: string; language: string; status: string | null; category: string | null; reason: string | null; providerTemplateId: string | null },
  ): Promise<{ id: string; before: string | null; after: string } | null> {
    return this.repository.manager.transaction(async (manager) => {
      const [current] = (await manager.query(
        `SELECT id, status FROM message_templates WHERE tenant_id = $1 AND waba_id = $2 AND name = $3 AND language = $4 FOR UPDATE`,
        [tenantId, wabaId, report.name, report.language],
      )) as { id: string; status: string }[];
      if (!current) {
        // A category update alone does not say whether the template can be sent.
        if (!report.status) return null;
        const [inserted] = (await manager.query(
          `INSERT INTO message_templates (tenant_id, waba_id, name, language, status, category, provider_template_id, reason)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (tenant_id, waba_id, name, language) DO NOTHING RETURNING id`,
          [tenantId, wabaId, report.name, report.language, report.status, report.category, report.providerTemplateId, report.reason],
        )) as { id: string }[];
        return inserted ? { id: inserted.id, before: null, after: report.status } : null;
      }
      const status = report.status ?? current.status;
      await manager.query(
        `UPDATE message_templates SET status = $2::varchar, category = coalesce($3::varchar, category), provider_template_id = coalesce($4::varchar, provider_template_id),
                reason = CASE WHEN $5::text IS NOT NULL THEN $5::text WHEN status = $2::varchar THEN reason ELSE NULL END, updated_at = now()
          WHERE id = $1`,
        [current.id, status, report.category, report.providerTemplateId, report.reason],
      );
      return { id: current.id, before: current.status, after: status };
    });
  }

  /** Whether a status lets the template be sent. */
  static sendable(status: string): boolean {
    return status === SENDABLE_TEMPLATE_STATUS;
  }
}
