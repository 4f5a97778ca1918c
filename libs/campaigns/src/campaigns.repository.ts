import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';
import { asTenantId, NotFoundError, TenantId } from '@app/core';
import { isUuid, Page, PageQueryDto, TenantScopedRepository } from '@app/database';
import { Campaign } from './campaign.entity';

@Injectable()
export class CampaignsRepository extends TenantScopedRepository<Campaign> {
  constructor(@InjectRepository(Campaign) repository: Repository<Campaign>) {
    super(repository, 'Campaign');
  }

  /** The campaign, row-locked for the caller's transaction (send, cancel, launch). */
  async lockById(tenantId: TenantId, id: string, manager: EntityManager): Promise<Campaign> {
    if (!isUuid(id)) throw new NotFoundError(this.resourceName);
    const campaign = await this.scoped(tenantId, 'campaign', manager).andWhere('campaign.id = :id', { id }).setLock('pessimistic_write').getOne();
    if (!campaign) throw new NotFoundError(this.resourceName);
    return campaign;
  }

  /** The comune's campaigns, newest first (as people read them), of one status when given. */
  listWithStatus(tenantId: TenantId, page: PageQueryDto, status?: Campaign['status']): Promise<Page<Campaign>> {
    return this.listNewestFirst(tenantId, page, (qb) => {
      if (status) qb.andWhere(`${qb.alias}.status = :status`, { status });
    });
  }

  /** The ids of the comune's campaigns in one status. */
  async idsWithStatus(tenantId: TenantId, status: Campaign['status']): Promise<string[]> {
    const rows = await this.scoped(tenantId, 'campaign').select(['campaign.id']).andWhere('campaign.status = :status', { status }).getMany();
    return rows.map((row) => row.id);
  }

  /** Scheduled campaigns whose time has come, of every tenant (the scheduler's sweep). */
  async findDue(now: Date, limit = 100): Promise<{ id: string; tenantId: TenantId }[]> {
    const rows = await this.repository
      .createQueryBuilder('campaign')
      .select(['campaign.id', 'campaign.tenantId'])
      .where(`campaign.status = 'scheduled' AND campaign.scheduled_at <= :now`, { now })
      .orderBy('campaign.scheduled_at', 'ASC')
      .limit(limit)
      .getMany();
    return rows.map((row) => ({ id: row.id, tenantId: asTenantId(row.tenantId) }));
  }
}
