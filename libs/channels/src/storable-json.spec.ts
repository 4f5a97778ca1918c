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

  it('turns a surrogate escape without its pair into U+FFFD and keeps whole pairs', () => {
    const text = '{"a":"x\\ud800y","b":"\\udc00","c":"\\ud83d\\ude00","d":"\\\\ud800"}';
    expect(JSON.parse(storableJson(text))).toEqual({ a: 'x\ufffdy', b: '\ufffd', c: '\u{1F600}', d: '\\ud800' });
  });

  it('returns other bodies unchanged', () => {
    const text = '{"entry":[{"id":"1"}]}';
    expect(storableJson(text)).toBe(text);
  });
});
