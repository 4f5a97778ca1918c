import { readFileSync } from 'fs';
import { join } from 'path';
import { toGraphPayload } from './outbound-message';

const fixture = (name: string) => JSON.parse(readFileSync(join(__dirname, '../../../../shared/fixtures/whatsapp', name), 'utf8'));

describe('toGraphPayload', () => {
  it('builds a text message like Meta documents it', () => {
    const expected = fixture('send-text-request.json');
    const payload = toGraphPayload({ to: expected.to, message: { type: 'text', text: expected.text.body, previewUrl: expected.text.preview_url } });
    expect(payload).toEqual(expected);
  });

  it('builds reply buttons like Meta documents them', () => {
    const expected = fixture('send-interactive-buttons-request.json');
    const interactive = expected.interactive;
    const payload = toGraphPayload({
      to: expected.to,
      message: {
        type: 'buttons',
        text: interactive.body.text,
        header: interactive.header?.text,
        footer: interactive.footer?.text,
        buttons: interactive.action.buttons.map((b: { reply: { id: string; title: string } }) => b.reply),
      },
    });
    expect(payload).toEqual(expected);
  });

  it('builds a template with positional body parameters and a quick-reply payload at its button position', () => {
    const payload = toGraphPayload({
      to: '+393478215604',
      callbackData: 'delivery-1',
      message: { type: 'template', name: 'avviso', language: 'it', bodyParameters: ['via Roma'], buttonPayloads: [{ index: 1, payload: 'DISATTIVA_ISCRIZIONE' }] },
    });
    expect(payload).toEqual({
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      to: '+393478215604',
      biz_opaque_callback_data: 'delivery-1',
      type: 'template',
      template: {
        name: 'avviso',
        language: { code: 'it' },
        components: [
          { type: 'body', parameters: [{ type: 'text', text: 'via Roma' }] },
          { type: 'button', sub_type: 'quick_reply', index: '1', parameters: [{ type: 'payload', payload: 'DISATTIVA_ISCRIZIONE' }] },
        ],
      },
    });
  });

  it('names the body parameters of a named-format template, as the fixture sends them', () => {
    const request = fixture('send-template-request.json') as {
      template: { components: { type: string; parameters: { parameter_name?: string; text?: string }[] }[] };
    };
    const expected = request.template.components.find((c) => c.type === 'body')!.parameters;
    const payload = toGraphPayload({
      to: '+393478215604',
      message: {
        type: 'template',
        name: 'avviso_interruzione_idrica',
        language: 'it',
        bodyParameters: expected.map((p) => p.text!),
        parameterNames: expected.map((p) => p.parameter_name!),
      },
    }) as { template: { components: { type: string; parameters: unknown[] }[] } };
    expect(payload.template.components[0]).toEqual({ type: 'body', parameters: expected });
  });

  it('addresses a citizen known only by business-scoped user id through `recipient`', () => {
    const payload = toGraphPayload({ recipientUserId: 'IT.12345678901234567890', message: { type: 'text', text: 'ciao' } });
    expect(payload).toMatchObject({ recipient: 'IT.12345678901234567890' });
    expect(payload).not.toHaveProperty('to');
  });
});
