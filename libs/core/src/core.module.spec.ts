import { redactUrlSecrets } from './core.module';

describe('redactUrlSecrets', () => {
  it('masks the verify token however its key is written, and keeps the rest of the URL', () => {
    const cases: [string, string][] = [
      ['/w?hub.mode=subscribe&hub.verify_token=s3cret&hub.challenge=1', '/w?hub.mode=subscribe&hub.verify_token=[redacted]&hub.challenge=1'],
      ['/w?hub%2Everify_token=s3cret&hub.challenge=2', '/w?hub%2Everify_token=[redacted]&hub.challenge=2'],
      ['/w?hub.verify%5Ftoken=s3cret', '/w?hub.verify%5Ftoken=[redacted]'],
      ['/w?hub%2eVERIFY_token=s3cret', '/w?hub%2eVERIFY_token=[redacted]'],
      ['/w?hub.verify_token[]=a&hub.verify_token%5B0%5D=b#frag', '/w?hub.verify_token[]=[redacted]&hub.verify_token%5B0%5D=[redacted]#frag'],
      ['/w?%zz=1&hub.verify_token=s3cret', '/w?%zz=1&hub.verify_token=[redacted]'],
      ['/w?x=hub.verify_token=s3cret', '/w?x=hub.verify_token=s3cret'],
      ['/health', '/health'],
    ];
    for (const [url, logged] of cases) expect(redactUrlSecrets(url)).toBe(logged);
  });
});
