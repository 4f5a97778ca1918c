import { BadRequestError } from '@app/core';
import { findUnsafeInput, InputSafetyPipe, MAX_INPUT_DEPTH } from './input-safety.pipe';

describe('findUnsafeInput', () => {
  it('names the field holding a NUL character', () => {
    expect(findUnsafeInput({ title: 'ok', message: { type: 'text', text: 'a\u0000b' } }, '')).toBe('message.text must not contain NUL characters');
    expect(findUnsafeInput({ message: { options: ['Sì', 'N\u0000o'] } }, '')).toBe('message.options[1] must not contain NUL characters');
    expect(findUnsafeInput('x\u0000', 'topic')).toBe('topic must not contain NUL characters');
    expect(findUnsafeInput({ ['a\u0000']: 1 }, '')).toBe('the request body has a property name with a NUL character or a lone surrogate');
  });

  it('names the field holding half of a surrogate pair, and lets whole pairs (emoji) through', () => {
    expect(findUnsafeInput({ email: '\ud800@comune.it' }, '')).toBe('email contains a lone UTF-16 surrogate, which is not a character');
    expect(findUnsafeInput({ name: 'Co\udc00mune' }, '')).toBe('name contains a lone UTF-16 surrogate, which is not a character');
    expect(findUnsafeInput({ name: 'fine\ud83d' }, '')).toBe('name contains a lone UTF-16 surrogate, which is not a character');
    expect(findUnsafeInput({ ['k\udfff']: 1 }, '')).toBe('the request body has a property name with a NUL character or a lone surrogate');
    expect(findUnsafeInput({ message: { text: 'Allerta 🌊 alluvione ⚠️' } }, '')).toBeNull();
  });

  it('refuses nesting deeper than the limit, at any depth of the body, without recursing', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(findUnsafeInput({ topics: deep }, '')).toBe(`topics${'[0]'.repeat(MAX_INPUT_DEPTH - 1)} is nested too deeply (at most ${MAX_INPUT_DEPTH} levels)`);
    let allowed: unknown = 'leaf';
    for (let i = 0; i < MAX_INPUT_DEPTH; i++) allowed = { a: allowed };
    expect(findUnsafeInput(allowed, '')).toBeNull();
    expect(findUnsafeInput({ a: allowed }, '')).toMatch(/nested too deeply/);
  });

  it('refuses an array longer than any route takes, naming it, before a validator walks it', () => {
    const options = Array.from({ length: 100_000 }, (_, i) => `t${i}`);
    expect(findUnsafeInput({ message: { type: 'poll', options } }, '')).toBe('message.options has too many elements (at most 1000)');
    expect(findUnsafeInput({ topics: Array.from({ length: 1_000 }, () => 'meteo') }, '')).toBeNull();
  });

  it('refuses an object of more fields than any route takes, naming it, instead of listing each unknown one', () => {
    const many = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));
    expect(findUnsafeInput(many(100_000), '')).toBe('the request body has too many fields (at most 1000)');
    expect(findUnsafeInput({ message: many(1_001) }, '')).toBe('message has too many fields (at most 1000)');
    expect(findUnsafeInput({ message: many(1_000) }, '')).toBeNull();
  });

  it('lets ordinary input through', () => {
    expect(findUnsafeInput({ title: 'Allerta meteo', message: { type: 'poll', text: 'Vieni?', options: ['Sì', 'No'] }, topics: [] }, '')).toBeNull();
    expect(findUnsafeInput(undefined, '')).toBeNull();
    expect(findUnsafeInput({ limit: '20', cursor: 'abc' }, '')).toBeNull();
  });
});

describe('InputSafetyPipe', () => {
  const pipe = new InputSafetyPipe();

  it('answers a bad request for a body, a query and a path parameter', () => {
    expect(() => pipe.transform({ name: '\u0000' }, { type: 'body' })).toThrow(BadRequestError);
    expect(() => pipe.transform({ topic: 'x\u0000' }, { type: 'query' })).toThrow('topic must not contain NUL characters');
    expect(() => pipe.transform('id\u0000', { type: 'param', data: 'id' })).toThrow('id must not contain NUL characters');
    expect(pipe.transform({ name: 'Anna' }, { type: 'body' })).toEqual({ name: 'Anna' });
  });
});
