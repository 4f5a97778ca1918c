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

  it('takes the proxies to trust as a hop count or a list, loopback by default, and refuses anything else', () => {
    expect(loadAppConfig({ DATA_DIR: dataDir() }).trustProxy).toBe('loopback');
    expect(loadAppConfig({ DATA_DIR: dataDir(), TRUST_PROXY: '1' }).trustProxy).toBe(1);
    expect(loadAppConfig({ DATA_DIR: dataDir(), TRUST_PROXY: 'loopback, 10.0.0.0/8, fd00::/8' }).trustProxy).toBe('loopback, 10.0.0.0/8, fd00::/8');
    // `true` would trust any X-Forwarded-For, whoever sends it.
    expect(() => loadAppConfig({ DATA_DIR: dataDir(), TRUST_PROXY: 'true' })).toThrow(/TRUST_PROXY/);
    expect(() => loadAppConfig({ DATA_DIR: dataDir(), TRUST_PROXY: 'everyone' })).toThrow(/TRUST_PROXY/);
    expect(() => loadAppConfig({ DATA_DIR: dataDir(), TRUST_PROXY: 'loopback, beef' })).toThrow(/TRUST_PROXY has beef/);
    expect(() => loadAppConfig({ DATA_DIR: dataDir(), TRUST_PROXY: '10.0.0.0/40' })).toThrow(/TRUST_PROXY/);
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
