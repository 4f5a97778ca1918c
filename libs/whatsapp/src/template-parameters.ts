/** What a template's body expects, read from its components as Meta lists them. */
export interface TemplateBodyParameters {
  /** how many values the body takes */
  count: number;
  /** a `named` template's parameter names, in the order they first appear; null for positional ones */
  names: string[] | null;
}

/** A quick-reply button: its position among all the template's buttons, and its text. */
export interface TemplateQuickReply {
  index: number;
  text: string;
}

/** The quick-reply buttons of a template (its BUTTONS component), in order; none without one. */
export function templateQuickReplies(components: unknown[]): TemplateQuickReply[] {
  const buttons = components.find((c): c is { type: string; buttons?: unknown } => typeof c === 'object' && c !== null && String((c as { type?: unknown }).type).toUpperCase() === 'BUTTONS');
  if (!Array.isArray(buttons?.buttons)) return [];
  const replies: TemplateQuickReply[] = [];
  buttons.buttons.forEach((button: unknown, index: number) => {
    const { type, text } = (button ?? {}) as { type?: unknown; text?: unknown };
    if (String(type).toUpperCase() === 'QUICK_REPLY' && typeof text === 'string') replies.push({ index, text });
  });
  return replies;
}

const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g;

/**
 * The body parameters of a template (whatsapp-cloud-api.md §2.2): positional `{{1}}`, `{{2}}` …
 * or named `{{zona}}` …, as the format says (or, without one, as the placeholders look). A
 * template without a body takes none.
 */
export function templateBodyParameters(components: unknown[], parameterFormat: string | null): TemplateBodyParameters {
  const body = components.find((c): c is { type: string; text?: unknown } => typeof c === 'object' && c !== null && String((c as { type?: unknown }).type).toUpperCase() === 'BODY');
  const text = typeof body?.text === 'string' ? body.text : '';
  const found: string[] = [];
  for (const match of text.matchAll(PLACEHOLDER)) if (!found.includes(match[1])) found.push(match[1]);
  const named = parameterFormat ? parameterFormat === 'named' : found.some((name) => !/^\d+$/.test(name));
  if (named) return { count: found.length, names: found };
  // Positional: {{1}} … {{n}}; the highest index is how many values go in.
  return { count: found.reduce((max, name) => Math.max(max, Number(name)), 0), names: null };
}
