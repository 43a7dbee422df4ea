/** Term.vue and Glossary.vue: a technical word explained where it appears, and the folded list. */
import { describe, expect, it } from 'vitest';
import { mount } from '@vue/test-utils';
import Term from '../../../../src-renderer/src/components/Term.vue';
import Glossary from '../../../../src-renderer/src/components/Glossary.vue';
import FieldHelp from '../../../../src-renderer/src/components/FieldHelp.vue';
import { GLOSSARY } from '../../../../src-renderer/src/lib/glossary';
import { TRAIN_HELP } from '../../../../src-main/api/train-help';

describe('Term', () => {
  it('shows the explanation on hover (title) and inline after the ⓘ toggle', async () => {
    const w = mount(Term, { props: { k: 'logSnr' } });
    expect(w.get('.term').attributes('title')).toBe(GLOSSARY.logSnr.explain);
    expect(w.find('[data-testid="term-explain"]').exists()).toBe(false);
    const button = w.get('button');
    expect(button.attributes('aria-expanded')).toBe('false');
    expect(button.attributes('aria-label')).toBe('What is log-SNR?');
    await button.trigger('click');
    expect(button.attributes('aria-expanded')).toBe('true');
    const explain = w.get('[data-testid="term-explain"]');
    expect(explain.text()).toBe(GLOSSARY.logSnr.explain);
    expect(button.attributes('aria-controls')).toBe(explain.attributes('id'));
  });

  it('shows the slot as the word when given', () => {
    expect(mount(Term, { props: { k: 'alphaBar' }, slots: { default: 'ᾱ' } }).get('.term').text()).toBe('ᾱ');
  });
});

describe('Glossary', () => {
  it('lists the given terms with their words and one sentence each', () => {
    const w = mount(Glossary, { props: { terms: ['nfe', 'nats'] } });
    expect(w.findAll('dt').map((d) => d.text())).toEqual([`NFE — model calls`, `nats — units of surprise`]);
    expect(w.findAll('dd').map((d) => d.text())).toEqual([GLOSSARY.nfe.explain, GLOSSARY.nats.explain]);
  });

  it('every entry is one sentence-like line', () => {
    for (const [k, g] of Object.entries(GLOSSARY)) {
      expect(g.explain, k).toMatch(/\.$/);
      expect(g.explain, k).not.toMatch(/\n/);
    }
  });
});

describe('FieldHelp', () => {
  it('renders the help table’s line under the id the field points at', () => {
    const w = mount(FieldHelp, { props: { k: 'gradClip', id: 'train-clip-help' } });
    expect(w.attributes('id')).toBe('train-clip-help');
    expect(w.text()).toBe(`${TRAIN_HELP.gradClip.help} (${TRAIN_HELP.gradClip.term})`);
  });
});
