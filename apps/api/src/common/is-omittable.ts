import { ValidateIf } from 'class-validator';
import { BadRequestError } from '@app/core';

/**
 * For a field of a partial update that may be left out but never set to null (its column is
 * NOT NULL): unlike @IsOptional(), a null is validated like any other value, so it is refused
 * by the field's own rules with a 400 naming it.
 */
export const IsOmittable = (): PropertyDecorator => ValidateIf((_object, value) => value !== undefined);

/**
 * The same rule for a DTO made with PartialType (whose fields are all @IsOptional()): refuses,
 * naming them, the fields given as null among `fields`.
 */
export function refuseNulls<T extends object>(body: T, fields: (keyof T & string)[]): void {
  const nulls = fields.filter((field) => body[field] === null);
  if (nulls.length > 0) throw new BadRequestError(nulls.map((field) => `${field} must not be null`).join('; '));
}
