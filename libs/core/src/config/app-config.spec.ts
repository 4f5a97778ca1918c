import { getMetadataStorage } from 'class-validator';
import { mkdtempSync, readFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { loadAppConfig } from './app-config';
import { Environment } from './environment';

describe('loadAppConfig', () => {
  const dataDir = () => mkdtempSync(join(tmpdir(), 'filodiretto-config-'));

  it('runs embedded with generated secrets when nothing is configured, and keeps them across starts', () => {
    const dir = dataDir();
    const first = loadAppConfig({ DATA_DIR: dir });
    const second = loadAppConfig({ DATA_DIR: dir });
    expect(first.mode).toBe('embedded');
    expect(first.port).toBe(3000);
    expect(first.encryptionKey).toHaveLength(32);
    expect(second.jwt.secret).toBe(first.jwt.secret);
    expect(first.runMigrations).toBe(true);
  });

  it('stops production mode with a one-line message naming a missing secret', () => {
    expect(() => loadAppConfig({ DATABASE_URL: 'postgres://localhost/x', ENCRYPTION_KEY: Buffer.alloc(32).toString('base64') })).toThrow(
      'JWT_SECRET',
    );
    expect(() => loadAppConfig({ DATABASE_URL: 'postgres://localhost/x', JWT_SECRET: 'x'.repeat(40) })).toThrow('ENCRYPTION_KEY');
  });

  it('names the variable whose value is wrong', () => {
    expect(() => loadAppConfig({ DATA_DIR: dataDir(), PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadAppConfig({ DATA_DIR: dataDir(), ENCRYPTION_KEY: Buffer.alloc(16).toString('base64') })).toThrow(/32 bytes/);
  });
});

describe('.env.example', () => {
  it('documents every variable the configuration reads', () => {
    const variables = new Set(getMetadataStorage().getTargetValidationMetadatas(Environment, '', true, false).map((m) => m.propertyName));
    const example = readFileSync(join(__dirname, '../../../../.env.example'), 'utf8');
    const undocumented = [...variables].filter((name) => !new RegExp(`^#?${name}=`, 'm').test(example));
    expect(variables.size).toBeGreaterThan(15);
    expect(undocumented).toEqual([]);
  });
});
