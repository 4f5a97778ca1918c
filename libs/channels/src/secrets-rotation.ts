import type { DataSource } from 'typeorm';
import { AppConfig, SecretBox } from '@app/core';

export interface RotationReport {
  /** channels looked at */
  channels: number;
  /** channels whose secrets were re-sealed with the current key */
  resealed: number;
  /** channels changed meanwhile (credentials saved by someone else): left to their new, current seal */
  changedMeanwhile: number;
  /** channels no configured key opens (their ids), left untouched */
  unreadable: string[];
}

interface SealedRow {
  id: string;
  access_token_sealed: string;
  app_secret_sealed: string;
  verify_token_sealed: string;
}

const BATCH = 200;

/**
 * Re-seals every channel secret with the current ENCRYPTION_KEY (the second half of a key
 * rotation: run with ENCRYPTION_KEY = new key, ENCRYPTION_KEY_PREVIOUS = old key, then drop the
 * old key). Each row is updated by compare-and-set on its sealed values, so a credential changed
 * concurrently through the API is never overwritten. Idempotent: a second run re-seals nothing.
 * `tenantId` limits the run to one comune.
 */
export async function rotateChannelSecrets(dataSource: DataSource, config: AppConfig, options: { tenantId?: string } = {}): Promise<RotationReport> {
  const box = new SecretBox(config.encryptionKey, { previousKeys: config.encryptionKeyPrevious ? [config.encryptionKeyPrevious] : [], digestKey: config.digestKey });
  const report: RotationReport = { channels: 0, resealed: 0, changedMeanwhile: 0, unreadable: [] };
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const rows = (await dataSource.query(
      `SELECT id, access_token_sealed, app_secret_sealed, verify_token_sealed FROM channels
        WHERE id > $1 AND ($2::uuid IS NULL OR tenant_id = $2) ORDER BY id LIMIT ${BATCH}`,
      [after, options.tenantId ?? null],
    )) as SealedRow[];
    if (rows.length === 0) break;
    after = rows[rows.length - 1].id;
    for (const row of rows) {
      report.channels += 1;
      const sealed = [row.access_token_sealed, row.app_secret_sealed, row.verify_token_sealed];
      if (sealed.every((value) => box.isCurrent(value))) continue;
      let resealed: string[];
      try {
        resealed = sealed.map((value) => box.reseal(value));
      } catch {
        report.unreadable.push(row.id);
        continue;
      }
      const result = (await dataSource.query(
        `UPDATE channels SET access_token_sealed = $5, app_secret_sealed = $6, verify_token_sealed = $7
          WHERE id = $1 AND access_token_sealed = $2 AND app_secret_sealed = $3 AND verify_token_sealed = $4 RETURNING id`,
        [row.id, ...sealed, ...resealed],
      )) as unknown[];
      // TypeORM answers an UPDATE ... RETURNING with [rows, count].
      const updated = Array.isArray(result[0]) ? (result[0] as unknown[]).length : result.length;
      if (updated === 1) report.resealed += 1;
      else report.changedMeanwhile += 1;
    }
  }
  return report;
}
