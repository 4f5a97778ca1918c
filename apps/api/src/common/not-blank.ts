import { applyDecorators } from '@nestjs/common';
import { IsString, Matches, MaxLength, MinLength, ValidateBy } from 'class-validator';

/**
 * Holds something besides whitespace: a name or text of spaces only would be stored (or sent to
 * citizens over WhatsApp, which refuses an empty text) as if it were one.
 */
export const NotBlank = (options: { each?: boolean } = {}): PropertyDecorator => Matches(/\S/, { ...options, message: '$property must not be blank' });

/**
 * A password being set: 10 to 200 characters, not all of them spaces, of at least four different
 * characters (ten spaces or "aaaaaaaaaa" would pass the length alone).
 */
export const NewPassword = (): PropertyDecorator =>
  applyDecorators(
    IsString(),
    MinLength(10),
    MaxLength(200),
    NotBlank(),
    ValidateBy({
      name: 'distinctCharacters',
      validator: { validate: (value: unknown) => typeof value === 'string' && new Set(value).size >= 4, defaultMessage: () => '$property must use at least 4 different characters' },
    }),
  );
