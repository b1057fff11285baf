// Settings → Parameters: custom identifier definitions (label, "identifies the client") and the
// tenant's blocked values. Operators read the definitions; admins change both.

import { api } from '../api.js';
import { field, h, replace } from '../dom.js';
import { t, tOr } from '../i18n.js';
import { confirmDialog, errorNode, notifyNext } from '../widgets.js';

const KINDS = ['email', 'phone', 'custom', 'psid', 'whatsapp', 'vk', 'apple'];

export async function render(main, { signal, isAdmin, rerender }) {
  const [definitions, blocked] = await Promise.all([
    api.definitions(signal).then((page) => page.items),
    isAdmin ? api.blockedValues(signal).then((page) => page.items) : Promise.resolve(null),
  ]);
  const problems = h('div', { 'aria-live': 'assertive' });
  const act = async (action, message) => {
    replace(problems);
    try {
      await action();
      notifyNext(message);
      rerender();
    } catch (error) {
      replace(problems, errorNode(error));
    }
  };

  const rows = definitions.map((definition) => {
    const label = h('input', { value: definition.label, disabled: !isAdmin, 'aria-label': t('settings.label_of', { name: definition.name }) });
    const identifies = h('input', {
      type: 'checkbox',
      checked: definition.identifies_client,
      disabled: !isAdmin,
      'aria-label': t('settings.identifies_of', { name: definition.name }),
    });
    const remove = async () => {
      const confirmed = await confirmDialog({
        title: t('settings.delete_title'),
        message: t('settings.delete_question', { label: definition.label }),
        confirmLabel: t('action.delete'),
        danger: true,
      });
      if (confirmed) await act(() => api.deleteDefinition(definition.name), t('settings.deleted', { label: definition.label }));
    };
    return h(
      'tr',
      {},
      h('th', { scope: 'row' }, h('code', {}, definition.name)),
      h('td', {}, label),
      h('td', { class: 'center' }, identifies),
      isAdmin
        ? h(
            'td',
            { class: 'actions' },
            h(
              'button',
              {
                type: 'button',
                onclick: () =>
                  act(
                    () => api.patchDefinition(definition.name, { label: label.value.trim(), identifies_client: identifies.checked }),
                    t('settings.saved', { label: label.value.trim() }),
                  ),
              },
              t('action.save'),
            ),
            h('button', { type: 'button', class: 'danger', onclick: remove }, t('action.delete')),
          )
        : null,
    );
  });

  const newName = h('input', { required: true, pattern: '[A-Za-z0-9_\\-]+', autocomplete: 'off' });
  const newLabel = h('input', { required: true, autocomplete: 'off' });
  const newIdentifies = h('input', { type: 'checkbox' });
  const addDefinition = isAdmin
    ? h(
        'form',
        {
          class: 'row',
          onsubmit: (event) => {
            event.preventDefault();
            const definition = { name: newName.value.trim(), label: newLabel.value.trim(), identifies_client: newIdentifies.checked };
            act(() => api.putDefinition(definition), t('settings.created', { label: definition.label }));
          },
        },
        field(t('settings.name'), newName, t('settings.name_hint')),
        field(t('settings.label'), newLabel),
        h('label', { class: 'check' }, newIdentifies, t('settings.identifies')),
        h('button', { type: 'submit', class: 'primary' }, t('settings.add_definition')),
      )
    : h('p', { class: 'muted' }, t('settings.admin_only'));

  let blockedSection;
  if (isAdmin) {
    const kind = h('select', {}, h('option', { value: '' }, t('settings.any_kind')), KINDS.map((value) => h('option', { value }, tOr(`kind.${value}`, value))));
    const pattern = h('input', { required: true, autocomplete: 'off' });
    const reason = h('select', {}, ['blocked', 'own'].map((value) => h('option', { value }, t(`settings.reason.${value}`))));
    blockedSection = [
      blocked.length === 0
        ? h('p', { class: 'muted' }, t('settings.no_blocked'))
        : h(
            'table',
            { class: 'settings-table' },
            h('thead', {}, h('tr', {}, [t('settings.kind'), t('settings.pattern'), t('settings.reason')].map((label) => h('th', { scope: 'col' }, label)))),
            h(
              'tbody',
              {},
              blocked.map((entry) =>
                h('tr', {}, h('td', {}, entry.kind ? tOr(`kind.${entry.kind}`, entry.kind) : t('settings.any_kind')), h('td', {}, h('code', {}, entry.pattern)), h('td', {}, tOr(`settings.reason.${entry.reason}`, entry.reason))),
              ),
            ),
          ),
      h(
        'form',
        {
          class: 'row',
          onsubmit: (event) => {
            event.preventDefault();
            const body = { kind: kind.value || null, pattern: pattern.value.trim(), reason: reason.value };
            act(() => api.block(body), t('settings.blocked', { pattern: body.pattern }));
          },
        },
        field(t('settings.kind'), kind),
        field(t('settings.pattern'), pattern, t('settings.pattern_hint')),
        field(t('settings.reason'), reason),
        h('button', { type: 'submit', class: 'primary' }, t('settings.block')),
      ),
    ];
  } else {
    blockedSection = h('p', { class: 'muted' }, t('settings.admin_only'));
  }

  replace(
    main,
    h(
      'section',
      { class: 'settings' },
      h('h1', {}, t('settings.title')),
      problems,
      h(
        'section',
        { 'aria-labelledby': 'definitions-title' },
        h('h2', { id: 'definitions-title' }, t('settings.definitions')),
        h('p', { class: 'muted' }, t('settings.definitions_hint')),
        definitions.length === 0
          ? h('p', { class: 'muted' }, t('settings.no_definitions'))
          : h(
              'table',
              { class: 'settings-table' },
              h(
                'thead',
                {},
                h('tr', {}, [t('settings.name'), t('settings.label'), t('settings.identifies'), isAdmin ? t('settings.actions') : null].filter(Boolean).map((label) => h('th', { scope: 'col' }, label))),
              ),
              h('tbody', {}, rows),
            ),
        addDefinition,
      ),
      h('section', { 'aria-labelledby': 'blocked-title' }, h('h2', { id: 'blocked-title' }, t('settings.blocked_values')), h('p', { class: 'muted' }, t('settings.blocked_hint')), blockedSection),
    ),
  );
}
