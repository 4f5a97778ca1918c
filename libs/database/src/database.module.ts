import { DynamicModule, Global, Module, OnModuleInit } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions, DatabaseConnection } from './data-source-options';
import { DATABASE_CONNECTION, PreparedStatements } from './prepared-statements';
import { installTenantContext } from './tenant-context';
import { TableStatistics } from './table-statistics';

@Global()
@Module({})
export class DatabaseModule implements OnModuleInit {
  constructor(private readonly dataSource: DataSource) {}

  static forRoot(connection: DatabaseConnection): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [TypeOrmModule.forRoot({ ...buildDataSourceOptions(connection), autoLoadEntities: true })],
      providers: [{ provide: DATABASE_CONNECTION, useValue: connection }, PreparedStatements, TableStatistics],
      exports: [DATABASE_CONNECTION, PreparedStatements, TableStatistics],
    };
  }

  onModuleInit(): void {
    installTenantContext(this.dataSource);
  }
}
