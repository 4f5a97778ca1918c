import { matchKeyword, normalizeKeyword, renderChannelText, resolveSettings } from './channel-settings';

describe('keyword matching', () => {
  const settings = resolveSettings({ settings: {} });

  it.each([
    ['ATTIVA ISCRIZIONE', 'subscribe'],
    ['attiva iscrizione', 'subscribe'],
    ['  Attiva    Iscrizione  ', 'subscribe'],
    ['ATTÌVA ISCRIZIÓNE', 'subscribe'],
    ['attiva\tiscrizione!', 'subscribe'],
    ['DISATTIVA ISCRIZIONE', 'unsubscribe'],
    ['disattiva  iscrizione', 'unsubscribe'],
    ['DISATTIVA_ISCRIZIONE', 'unsubscribe'],
    ['stop', 'unsubscribe'],
    [' Stop. ', 'unsubscribe'],
    ['Buongiorno, in via Roma l\'acqua torna alle 14?', null],
    ['ATTIVA ISCRIZIONE per favore', null],
    ['', null],
    ['👍', null],
  ])('%j → %s', (text, expected) => {
    expect(matchKeyword(text, settings)).toBe(expected);
  });

  it('uses the channel keyword sets when configured', () => {
    const custom = resolveSettings({ settings: { subscribeKeywords: ['iscrivimi'], unsubscribeKeywords: ['basta'] } });
    expect(matchKeyword('ISCRIVIMI', custom)).toBe('subscribe');
    expect(matchKeyword('Basta', custom)).toBe('unsubscribe');
    expect(matchKeyword('ATTIVA ISCRIZIONE', custom)).toBeNull();
  });

  it('normalises accents, case and spaces', () => {
    expect(normalizeKeyword('  perché   NO ')).toBe('PERCHE NO');
  });

  it('renders the placeholders of the default texts', () => {
    const text = renderChannelText(settings.welcomeText, { ...settings, privacyPolicyUrl: 'https://comune.example/privacy' }, 'Comune di Valdoria');
    expect(text).toContain('Comune di Valdoria');
    expect(text).toContain('DISATTIVA ISCRIZIONE');
    expect(text).toContain('https://comune.example/privacy');
    expect(text).not.toMatch(/[{}]/);
  });

  it('renders the answers to a keyword that changes nothing', () => {
    const already = renderChannelText(settings.alreadySubscribedText, settings, 'Comune di Valdoria');
    expect(already).toMatch(/^Sei già iscritto al servizio WhatsApp di Comune di Valdoria/);
    expect(already).toContain('DISATTIVA ISCRIZIONE');
    const notSubscribed = renderChannelText(settings.notSubscribedText, settings, 'Comune di Valdoria');
    expect(notSubscribed).toMatch(/^Non risulti iscritto al servizio WhatsApp di Comune di Valdoria/);
    expect(notSubscribed).toContain('scrivi ATTIVA ISCRIZIONE');
    for (const text of [already, notSubscribed]) expect(text).not.toMatch(/[{}]/);
  });
});
