import { ArgumentMetadata, Injectable, PipeTransform } from '@nestjs/common';
import { BadRequestError } from '@app/core';

/** Nesting a request may have: far more than any route's shape, far less than what exhausts the validator's stack. */
export const MAX_INPUT_DEPTH = 32;
/**
 * Elements an array of a request may have: ten times the largest any route takes (100), far less
 * than what makes a validator slow (class-validator's ArrayUnique is quadratic: 100,000 options
 * held the event loop, and every other request, for 16 s before the size limit answered).
 */
export const MAX_ARRAY_LENGTH = 1_000;
/**
 * Fields an object of a request may have: far more than any route's shape (its unknown fields are
 * refused one message each, and 100,000 of them made a 900 KB error).
 */
export const MAX_OBJECT_KEYS = 1_000;

/** Half of a UTF-16 surrogate pair without its other half: not a character (JSON's `"\ud800"` makes one). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * What no route can store, found before validation: a NUL character (PostgreSQL's text and jsonb
 * refuse it, so it would surface as a 500), a lone surrogate (the email validator throws on one,
 * and PostgreSQL would store it as U+FFFD, not what was sent) and nesting deeper than MAX_INPUT_DEPTH (the validator
 * recurses through it and would overflow its stack), arrays longer than MAX_ARRAY_LENGTH and objects of more than MAX_OBJECT_KEYS fields.
 * Answers the problem naming the field, or null.
 * The walk is iterative, so the depth it checks cannot overflow it either.
 */
export function findUnsafeInput(value: unknown, root: string): string | null {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value, path: root, depth: 0 }];
  while (stack.length > 0) {
    const item = stack.pop()!;
    const name = item.path || 'the request body';
    if (typeof item.value === 'string') {
      if (item.value.includes('\u0000')) return `${name} must not contain NUL characters`;
      if (LONE_SURROGATE.test(item.value)) return `${name} contains a lone UTF-16 surrogate, which is not a character`;
      continue;
    }
    if (item.value === null || typeof item.value !== 'object') continue;
    if (item.depth >= MAX_INPUT_DEPTH) return `${name} is nested too deeply (at most ${MAX_INPUT_DEPTH} levels)`;
    if (Array.isArray(item.value) && item.value.length > MAX_ARRAY_LENGTH) return `${name} has too many elements (at most ${MAX_ARRAY_LENGTH})`;
    const entries = Array.isArray(item.value) ? item.value.map((element, index) => [String(index), element] as const) : Object.entries(item.value);
    if (!Array.isArray(item.value) && entries.length > MAX_OBJECT_KEYS) return `${name} has too many fields (at most ${MAX_OBJECT_KEYS})`;
    for (const [key, element] of entries) {
      if (key.includes('\u0000') || LONE_SURROGATE.test(key)) return `${name} has a property name with a NUL character or a lone surrogate`;
      const path = Array.isArray(item.value) ? `${item.path}[${key}]` : item.path ? `${item.path}.${key}` : key;
      stack.push({ value: element, path, depth: item.depth + 1 });
    }
  }
  return null;
}

/**
 * Runs before the ValidationPipe on every body, query and path parameter: refuses with 400 what
 * findUnsafeInput finds. Routes that take the raw request (signed webhooks) are not piped: they
 * must accept whatever Meta signs, and clean it themselves.
 */
@Injectable()
export class InputSafetyPipe implements PipeTransform {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    if (metadata.type === 'custom') return value;
    const problem = findUnsafeInput(value, metadata.type === 'body' ? '' : (metadata.data ?? ''));
    if (problem) throw new BadRequestError(problem);
    return value;
  }
}
