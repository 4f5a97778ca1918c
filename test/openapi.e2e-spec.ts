import { spawnSync } from 'child_process';
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { createTestApp, TestApp } from '@app/testing';

describe('OpenAPI document', () => {
  let testApp: TestApp;
  let document: { paths: Record<string, Record<string, { responses?: Record<string, unknown>; security?: unknown[] }>>; components: { securitySchemes: Record<string, unknown> } };

  beforeAll(async () => {
    testApp = await createTestApp({ worker: false });
    document = (await testApp.http().get('/docs-json').expect(200)).body;
  });

  afterAll(async () => {
    await testApp.close();
  });

  it('is served with Swagger UI', async () => {
    const ui = await testApp.http().get('/docs/').expect(200);
    expect(ui.text).toContain('swagger');
  });

  it('passes the Redocly linter without errors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'openapi-'));
    const file = join(dir, 'openapi.json');
    writeFileSync(file, JSON.stringify(document));
    const result = spawnSync(process.execPath, [join(__dirname, '../scripts/lint-openapi.mjs'), file], { encoding: 'utf8' });
    const errors = result.stdout.split('\n').filter((line) => line.includes('"severity":"error"'));
    expect(errors).toEqual([]);
    expect(result.stdout).toContain('openapi lint: 0 error(s)');
    expect(result.status).toBe(0);
  });

  it('documents both auth schemes and the contract routes', () => {
    expect(Object.keys(document.components.securitySchemes).sort()).toEqual(['api-key', 'bearer']);
    for (const [path, method] of [
      ['/v1/tenants/signup', 'post'],
      ['/v1/admin/tenants/{id}/approve', 'post'],
      ['/v1/admin/tenants/{id}/suspend', 'post'],
      ['/v1/admin/tenants', 'get'],
      ['/v1/auth/login', 'post'],
      ['/v1/auth/refresh', 'post'],
      ['/v1/api-keys', 'post'],
      ['/v1/api-keys/{id}', 'delete'],
      ['/v1/users', 'post'],
      ['/health', 'get'],
      ['/metrics', 'get'],
    ]) {
      expect(document.paths[path]?.[method]).toBeDefined();
    }
  });

  it('documents 400 on every operation that takes input, and 413 on those with a body', () => {
    const missing: string[] = [];
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(operations) as [string, { responses?: Record<string, unknown>; requestBody?: unknown; parameters?: unknown[] }][]) {
        const takesInput = operation.requestBody !== undefined || (operation.parameters?.length ?? 0) > 0;
        if (takesInput && !operation.responses?.['400']) missing.push(`400 ${method} ${path}`);
        if (operation.requestBody !== undefined && !operation.responses?.['413']) missing.push(`413 ${method} ${path}`);
      }
    }
    expect(missing).toEqual([]);
    for (const path of ['/v1/auth/login', '/v1/auth/refresh', '/v1/tenants/signup']) expect(Object.keys(document.paths[path].post.responses ?? {})).toContain('400');
    expect(Object.keys(document.paths['/v1/users/{id}'].patch.responses ?? {})).toContain('409');
    expect(Object.keys(document.paths['/v1/users/{id}'].delete.responses ?? {})).toContain('409');
  });

  it('gives every operation at least one documented success response', () => {
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const codes = Object.keys(operation.responses ?? {});
        expect({ path, method, success: codes.some((code) => /^2\d\d$/.test(code)) }).toEqual({ path, method, success: true });
      }
    }
  });
});
