/** The dataset page's class list (src-renderer/src/components/DatasetClasses.vue): counts, rename, merge. */
import { describe, expect, it } from 'vitest';
import { mount } from '@vue/test-utils';
import DatasetClasses from '../../../../src-renderer/src/components/DatasetClasses.vue';

const classes = [
  { name: 'animals', count: 4 },
  { name: 'food', count: 1 },
];

describe('DatasetClasses', () => {
  it('lists each class with its image count', () => {
    const w = mount(DatasetClasses, { props: { classes } });
    const rows = w.findAll('[data-testid="dataset-class"]').map((r) => r.text());
    expect(rows[0]).toContain('animals');
    expect(rows[0]).toContain('4 images');
    expect(rows[1]).toContain('1 image');
    w.unmount();
  });

  it('renames a class, and offers Merge when the new name is another class', async () => {
    const w = mount(DatasetClasses, { props: { classes } });
    await w.findAll('[data-testid="dataset-class-rename"]')[1].trigger('click');
    const input = w.get('[data-testid="dataset-class-name"]');
    await input.setValue('animals');
    expect(w.get('[data-testid="dataset-class-save"]').text()).toBe('Merge');
    await input.setValue('  snacks ');
    expect(w.get('[data-testid="dataset-class-save"]').text()).toBe('Save');
    await w.get('form').trigger('submit');
    expect(w.emitted('rename')).toEqual([['food', 'snacks']]);
    w.unmount();
  });
});
