import { parsePollReply, pollReplyId } from './poll-reply';

describe('parsePollReply', () => {
  const id = '0b6f8a52-3c1d-4e2f-9a7b-1c2d3e4f5a6b';
  it('reads campaign and option', () => {
    expect(parsePollReply(`poll:${id}:2`)).toEqual({ campaignId: id, optionIndex: 2 });
    expect(parsePollReply(pollReplyId(id, 0))).toEqual({ campaignId: id, optionIndex: 0 });
  });
  it.each([null, '', 'sondaggio_orario_avvisi:mattina', `poll:${id}`, `poll:not-a-uuid:1`, `poll:${id}:x`])('ignores %j', (value) => {
    expect(parsePollReply(value)).toBeNull();
  });
});
