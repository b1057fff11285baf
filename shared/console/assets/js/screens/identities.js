// The editable identifiers of a card: e-mails and phones with "+ add another", custom
// identifiers under their definitions' labels, channel identifiers (remove only). The editor
// keeps what the operator changed and turns it into API calls on save.

import { channelIcon, CHANNEL_KINDS, KIND_CHANNEL } from '../channels.js';
import { h, replace, uid } from '../dom.js';
import { t, tOr } from '../i18n.js';
import { errorNode } from '../widgets.js';

/** Groups of free-form identifiers: kind, input type. */
const FREE = [
  { kind: 'email', type: 'email', inputmode: 'email' },
  { kind: 'phone', type: 'tel', inputmode: 'tel' },
];

/**
 * An identifier editor over `identities` (a card's, or none for a new contact).
 * `definitions` label the custom identifiers. Returns `{element, changes(), focusFirstError()}`.
 * `rejected` are values the last save refused: shown again with their errors.
 */
export function identityEditor({ identities = [], definitions = [], rejected = [] }) {
  const rows = [];
  const removed = [];
  const label = (definitionName) => definitions.find((d) => d.name === definitionName)?.label ?? definitionName;

  function valueRow({ kind, scope = null, identity = null, value = '', error = null, labelText }) {
    const input = h('input', {
      type: FREE.find((group) => group.kind === kind)?.type ?? 'text',
      inputmode: FREE.find((group) => group.kind === kind)?.inputmode,
      value: value || identity?.value || '',
      autocomplete: 'off',
      'aria-label': labelText,
      'data-kind': kind,
    });
    const errorSlot = h('div', { class: 'row-error' }, error ? errorNode(error) : null);
    const entry = { kind, scope, identity, input, errorSlot, element: null };
    const remove = h(
      'button',
      {
        type: 'button',
        class: 'icon-button',
        'aria-label': t('card.remove_value', { value: input.value || labelText }),
        title: t('action.remove'),
        onclick: () => {
          rows.splice(rows.indexOf(entry), 1);
          if (identity) removed.push(identity);
          const next = entry.element.nextElementSibling?.querySelector('input, button');
          entry.element.remove();
          next?.focus();
        },
      },
      '×',
    );
    entry.element = h('li', { class: 'value-row' }, input, identity ? h('span', { class: 'source' }, tOr(`source.${identity.source}`, identity.source)) : null, remove, errorSlot);
    rows.push(entry);
    return entry;
  }

  const groups = FREE.map(({ kind }) => {
    const list = h('ul', { class: 'values', 'aria-label': t(`contact.${kind}s`) });
    for (const identity of identities.filter((i) => i.kind === kind)) {
      list.append(valueRow({ kind, identity, labelText: t(`kind.${kind}`) }).element);
    }
    for (const pending of rejected.filter((r) => r.kind === kind)) {
      list.append(valueRow({ kind, value: pending.value, error: pending.error, labelText: t(`kind.${kind}`) }).element);
    }
    const add = h(
      'button',
      {
        type: 'button',
        class: 'link-button add',
        onclick: () => {
          const entry = valueRow({ kind, labelText: t(`kind.${kind}`) });
          list.append(entry.element);
          entry.input.focus();
        },
      },
      t(`card.add_${kind}`),
    );
    return h('fieldset', { class: 'group' }, h('legend', {}, t(`contact.${kind}s`)), list, add);
  });

  const customList = h('ul', { class: 'values' });
  for (const identity of identities.filter((i) => i.kind === 'custom')) {
    const entry = valueRow({ kind: 'custom', scope: identity.scope, identity, labelText: label(identity.scope) });
    entry.element.prepend(h('span', { class: 'value-label' }, label(identity.scope)));
    customList.append(entry.element);
  }
  for (const pending of rejected.filter((r) => r.kind === 'custom')) {
    const entry = valueRow({ kind: 'custom', scope: pending.scope, value: pending.value, error: pending.error, labelText: label(pending.scope) });
    entry.element.prepend(h('span', { class: 'value-label' }, label(pending.scope)));
    customList.append(entry.element);
  }
  const definitionSelect = h(
    'select',
    { id: uid('definition'), 'aria-label': t('card.custom_parameter') },
    definitions.map((d) => h('option', { value: d.name }, d.label)),
  );
  const custom = h(
    'fieldset',
    { class: 'group' },
    h('legend', {}, t('contact.custom')),
    customList,
    definitions.length === 0
      ? h('p', { class: 'muted' }, t('card.no_definitions'))
      : h(
          'div',
          { class: 'add-custom' },
          definitionSelect,
          h(
            'button',
            {
              type: 'button',
              class: 'link-button add',
              onclick: () => {
                const scope = definitionSelect.value;
                const entry = valueRow({ kind: 'custom', scope, labelText: label(scope) });
                entry.element.prepend(h('span', { class: 'value-label' }, label(scope)));
                customList.append(entry.element);
                entry.input.focus();
              },
            },
            t('card.add_custom'),
          ),
        ),
  );

  const channelList = h('ul', { class: 'values' });
  for (const identity of identities.filter((i) => CHANNEL_KINDS.includes(i.kind))) {
    const entry = {
      kind: identity.kind,
      scope: identity.scope,
      identity,
      input: null,
      errorSlot: h('div', { class: 'row-error' }),
      element: null,
    };
    entry.element = h(
      'li',
      { class: 'value-row' },
      channelIcon(KIND_CHANNEL[identity.kind]),
      h('span', { class: 'value' }, identity.value),
      identity.scope ? h('span', { class: 'muted' }, t('card.scope', { scope: identity.scope })) : null,
      h(
        'button',
        {
          type: 'button',
          class: 'icon-button',
          'aria-label': t('card.remove_value', { value: identity.value }),
          title: t('action.remove'),
          onclick: () => {
            rows.splice(rows.indexOf(entry), 1);
            removed.push(identity);
            entry.element.remove();
          },
        },
        '×',
      ),
      entry.errorSlot,
    );
    rows.push(entry);
    channelList.append(entry.element);
  }
  const channels = h(
    'fieldset',
    { class: 'group' },
    h('legend', {}, t('contact.channel_ids')),
    channelList.childElementCount ? channelList : h('p', { class: 'muted' }, t('card.no_channel_ids')),
  );

  return {
    element: h('div', { class: 'identities' }, groups, custom, channels),
    /** What to send: `{remove: [identity], edit: [{identity, value, row}], add: [{kind, scope, value, row}]}`. */
    changes() {
      const edit = [];
      const add = [];
      for (const row of rows) {
        if (!row.input) continue;
        const value = row.input.value.trim();
        if (row.identity && value && value !== row.identity.value) edit.push({ identity: row.identity, value, row });
        if (row.identity && !value) removed.push(row.identity);
        if (!row.identity && value) add.push({ kind: row.kind, scope: row.scope, value, row });
      }
      return { remove: [...new Set(removed)], edit, add };
    },
    showError(row, error) {
      replace(row.errorSlot, errorNode(error));
    },
  };
}
