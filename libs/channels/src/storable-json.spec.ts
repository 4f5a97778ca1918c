import { storableJson } from './webhook-ingestion.service';

describe('storableJson', () => {
  it('turns NUL escapes into U+FFFD so that jsonb takes the body', () => {
    const text = JSON.stringify({ body: 'ciao\u0000mondo', list: ['\u0000'] });
    expect(text).toContain('\\u0000');
    expect(JSON.parse(storableJson(text))).toEqual({ body: 'ciao\ufffdmondo', list: ['\ufffd'] });
  });

  it('leaves an escaped backslash followed by "u0000" as it is', () => {
    const text = JSON.stringify({ body: 'C:\\u0000 and \\\u0000' });
    expect(JSON.parse(storableJson(text))).toEqual({ body: 'C:\\u0000 and \\\ufffd' });
  });

  it('returns other bodies unchanged', () => {
    const text = '{"entry":[{"id":"1"}]}';
    expect(storableJson(text)).toBe(text);
  });
});
