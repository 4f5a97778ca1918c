import type { DataSource } from 'typeorm';

/**
 * The pg pool under TypeORM's Postgres driver (the driver keeps it as `master`; TypeORM does not
 * type it), seen through the shape the caller uses; null before the data source is initialised.
 */
export function driverPool<Pool>(dataSource: DataSource): Pool | null {
  return (dataSource.driver as unknown as { master?: Pool }).master ?? null;
}
