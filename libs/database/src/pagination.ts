import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import type { ObjectLiteral, SelectQueryBuilder } from 'typeorm';
import { BadRequestError } from '@app/core';

export class PageQueryDto {
  @ApiPropertyOptional({ minimum: 1, maximum: 500, default: 50 })
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(500)
  limit?: number;

  @ApiPropertyOptional({ description: 'The nextCursor of the previous page' })
  @IsOptional() @IsString() @MaxLength(512)
  cursor?: string;
}

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

export const mapPage = <T, R>(page: Page<T>, map: (item: T) => R): Page<R> => ({ data: page.data.map(map), nextCursor: page.nextCursor });

function decodeCursor(cursor: string): string | number {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof value === 'string' || typeof value === 'number') return value;
  } catch {
    // falls through to the error below
  }
  throw new BadRequestError('cursor is not a cursor returned by this list');
}

const encodeCursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * PostgreSQL's errors for a value that does not fit its column: not of its type (22P02, a uuid
 * list given a made-up cursor), a number out of its range (22003), a date that is not one (22007,
 * 22008: 30 February).
 */
const VALUE_DOES_NOT_FIT = new Set(['22P02', '22003', '22007', '22008']);

/** Runs a page's query; a cursor that decodes but does not fit the key's column is the cursor's fault, and is named as such. */
async function withCursor<T>(page: PageQueryDto, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (page.cursor && VALUE_DOES_NOT_FIT.has((error as { code?: string }).code ?? '')) throw new BadRequestError('cursor is not a cursor returned by this list');
    throw error;
  }
}

/**
 * Keyset pagination on a unique, ordered column (default `id`), ascending or, for a column that
 * grows with time (an identity), newest first: fetches one row more than asked to know whether a
 * next page exists.
 */
export async function paginate<T extends ObjectLiteral>(
  qb: SelectQueryBuilder<T>,
  page: PageQueryDto,
  key: { column: string; property: keyof T; descending?: boolean } = { column: `${qb.alias}.id`, property: 'id' as keyof T },
): Promise<Page<T>> {
  const limit = page.limit ?? 50;
  if (page.cursor) qb.andWhere(`${key.column} ${key.descending ? '<' : '>'} :cursor`, { cursor: decodeCursor(page.cursor) });
  const rows = await withCursor(page, () => qb.orderBy(key.column, key.descending ? 'DESC' : 'ASC').take(limit + 1).getMany());
  const hasMore = rows.length > limit;
  const data = hasMore ? rows.slice(0, limit) : rows;
  return { data, nextCursor: hasMore ? encodeCursor(data[data.length - 1][key.property]) : null };
}

/**
 * Keyset pagination newest first, on a timestamp with the unique id breaking ties (lists people
 * read from the latest, like an inbox): the cursor is the last row's [time, id], the time to the
 * microsecond as PostgreSQL keeps it (a JavaScript Date would cut it to the millisecond, and rows
 * of the same millisecond after the cursor's would be left out of the next page). The query must
 * not join (each raw row is read as its entity's).
 */
export async function paginateNewestFirst<T extends ObjectLiteral>(
  qb: SelectQueryBuilder<T>,
  page: PageQueryDto,
  key: { time: string; id: string; idProperty: keyof T },
): Promise<Page<T>> {
  const limit = page.limit ?? 50;
  if (page.cursor) {
    const cursor = decodePairCursor(page.cursor);
    qb.andWhere(`(${key.time}, ${key.id}) < (:cursorTime, :cursorId)`, { cursorTime: cursor[0], cursorId: cursor[1] });
  }
  const { entities, raw } = await withCursor(page, () =>
    qb
      .addSelect(`to_char(${key.time} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`, 'page_cursor_time')
      .orderBy(key.time, 'DESC')
      .addOrderBy(key.id, 'DESC')
      .limit(limit + 1)
      .getRawAndEntities(),
  );
  const hasMore = entities.length > limit;
  const data = hasMore ? entities.slice(0, limit) : entities;
  const last = data.length - 1;
  return { data, nextCursor: hasMore ? encodeCursor([(raw[last] as { page_cursor_time: string }).page_cursor_time, data[last][key.idProperty]]) : null };
}

function decodePairCursor(cursor: string): [string, string] {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && !Number.isNaN(Date.parse(value[0])) && typeof value[1] === 'string') return [value[0], value[1]];
  } catch {
    // falls through to the error below
  }
  throw new BadRequestError('cursor is not a cursor returned by this list');
}

/** Keyset pagination over raw rows (for lists built with `getRawMany`). */
export async function paginateRaw<R extends Record<string, unknown>>(
  qb: SelectQueryBuilder<ObjectLiteral>,
  page: PageQueryDto,
  key: { column: string; field: keyof R },
): Promise<Page<R>> {
  const limit = page.limit ?? 50;
  if (page.cursor) qb.andWhere(`${key.column} > :cursor`, { cursor: decodeCursor(page.cursor) });
  const rows = (await withCursor(page, () => qb.orderBy(key.column, 'ASC').limit(limit + 1).getRawMany())) as R[];
  const hasMore = rows.length > limit;
  const data = hasMore ? rows.slice(0, limit) : rows;
  return { data, nextCursor: hasMore ? encodeCursor(data[data.length - 1][key.field]) : null };
}
