import { templateBodyParameters } from './template-parameters';

describe('templateBodyParameters', () => {
  const body = (text: string) => [{ type: 'HEADER', format: 'TEXT', text: 'Avviso {{1}}' }, { type: 'BODY', text }, { type: 'FOOTER', text: 'Comune' }];

  it('counts positional placeholders by their highest index, once each', () => {
    expect(templateBodyParameters(body('Interruzione in {{1}} il {{2}}; in {{1}} acqua dalle autobotti'), 'positional')).toEqual({ count: 2, names: null });
  });

  it('lists named placeholders in the order they first appear', () => {
    expect(templateBodyParameters(body('Acqua sospesa in {{zona}} il {{data}}. Zona: {{ zona }}'), 'named')).toEqual({ count: 2, names: ['zona', 'data'] });
  });

  it('tells the format from the placeholders when Meta does not say', () => {
    expect(templateBodyParameters(body('Allerta {{livello}}'), null)).toEqual({ count: 1, names: ['livello'] });
    expect(templateBodyParameters(body('Allerta {{1}}'), null)).toEqual({ count: 1, names: null });
  });

  it('takes none without a body or placeholders, and ignores other components', () => {
    expect(templateBodyParameters([{ type: 'HEADER', text: '{{1}}' }], 'positional')).toEqual({ count: 0, names: null });
    expect(templateBodyParameters(body('Nessun parametro'), 'named')).toEqual({ count: 0, names: [] });
    expect(templateBodyParameters([null, 3, 'x'], null)).toEqual({ count: 0, names: null });
  });
});
