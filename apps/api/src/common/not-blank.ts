import { Matches } from 'class-validator';

/**
 * Holds something besides whitespace: a name or text of spaces only would be stored (or sent to
 * citizens over WhatsApp, which refuses an empty text) as if it were one.
 */
export const NotBlank = (options: { each?: boolean } = {}): PropertyDecorator => Matches(/\S/, { ...options, message: '$property must not be blank' });
