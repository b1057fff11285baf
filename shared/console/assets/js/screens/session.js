// The session panel: one interaction (a conversation or a call) opened from a link, with the
// contact it belongs to — the contact an operator linked the conversation to, else the one the
// resolver attached it to. Add contact, pick existing (search, then choose), add detail, remove
// a detail, unlink, open in directory.

import { api } from '../api.js';
import { field, h, replace } from '../dom.js';
import { formatDateTime, t, tOr } from '../i18n.js';
import { href } from '../router.js';
import { contactName, contactPicker, errorNode, notifyNext } from '../widgets.js';
import { interactionDetail } from './history.js';

async function orNull(promise) {
  try {
    return await promise;
  } catch (error) {
    if (error.status === 404) return null;
    throw error;
  }
}

export async function render(main, context) {
  const { signal, rerender } = context;
  const interaction = await api.interaction(context.segments[1], signal);
  const ref = interaction.conversation_ref;
  const link = ref ? await orNull(api.linkOf(ref, signal)) : null;
  let card = null;
  const contactId = link?.contact_id ?? interaction.contact_id ?? null;
  if (contactId) {
    card = await orNull(api.contact(contactId, signal));
    // A merged-away contact answers with its survivor: the session belongs to the survivor now.
    if (card?.merged_into) card = await orNull(api.contact(card.merged_into, signal));
  }
  const definitions = (await api.definitions(signal)).items;
  const kindLabel = (identity) =>
    identity.kind === 'custom'
      ? definitions.find((definition) => definition.name === identity.scope)?.label ?? identity.scope
      : tOr(`kind.${identity.kind}`, identity.kind);
  const problems = h('div', { 'aria-live': 'assertive' });
  const workspace = h('div', { class: 'session-workspace' });

  async function act(action, message) {
    replace(problems);
    try {
      await action();
      notifyNext(message);
      rerender();
    } catch (error) {
      replace(problems, errorNode(error));
    }
  }

  function pickExisting() {
    const picker = contactPicker({
      label: t('session.pick_search'),
      exclude: card ? [card.contact_id] : [],
      chooseLabel: t('session.link_here'),
      onChoose: (chosen) => act(() => api.link(ref, chosen.contact_id), t('session.linked', { name: contactName(chosen) })),
    });
    replace(workspace, h('h3', {}, t('session.pick')), picker);
    picker.querySelector('input').focus();
  }

  function addContact() {
    const name = h('input', { autocomplete: 'off' });
    const email = h('input', { type: 'email', autocomplete: 'off' });
    const phone = h('input', { type: 'tel', autocomplete: 'off' });
    const form = h(
      'form',
      {
        class: 'stack',
        novalidate: true,
        onsubmit: (event) => {
          event.preventDefault();
          const identities = [
            ['email', email.value.trim()],
            ['phone', phone.value.trim()],
          ]
            .filter(([, value]) => value)
            .map(([kind, value]) => ({ kind, value }));
          act(async () => {
            const created = await api.createContact({ name: name.value.trim() || null, identities });
            if (ref) await api.link(ref, created.contact_id);
          }, t('session.contact_added'));
        },
      },
      field(t('contact.name'), name),
      field(t('kind.email'), email),
      field(t('kind.phone'), phone),
      h('button', { type: 'submit', class: 'primary' }, ref ? t('session.add_and_link') : t('action.create')),
    );
    replace(workspace, h('h3', {}, t('session.add_contact')), form);
    name.focus();
  }

  function addDetail() {
    const kind = h(
      'select',
      {},
      h('option', { value: 'email' }, t('kind.email')),
      h('option', { value: 'phone' }, t('kind.phone')),
      definitions.map((definition) => h('option', { value: `custom:${definition.name}` }, definition.label)),
    );
    const value = h('input', { autocomplete: 'off', required: true });
    const form = h(
      'form',
      {
        class: 'stack',
        onsubmit: (event) => {
          event.preventDefault();
          const [chosenKind, scope] = kind.value.split(':');
          act(
            () => api.addIdentity(card.contact_id, { kind: chosenKind, scope: scope ?? null, value: value.value.trim() }),
            t('session.detail_added', { value: value.value.trim() }),
          );
        },
      },
      field(t('session.detail_kind'), kind),
      field(t('session.detail_value'), value),
      h('button', { type: 'submit', class: 'primary' }, t('action.add')),
    );
    replace(workspace, h('h3', {}, t('session.add_detail')), form);
    kind.focus();
  }

  const details = card
    ? h(
        'ul',
        { class: 'values' },
        card.identities.map((identity) =>
          h(
            'li',
            { class: 'value-row' },
            h('span', { class: 'value-label' }, kindLabel(identity)),
            h('span', { class: 'value' }, identity.value),
            h(
              'button',
              {
                type: 'button',
                'aria-label': t('card.remove_value', { value: identity.value }),
                onclick: () =>
                  act(() => api.removeIdentity(card.contact_id, identity.identity_id), t('session.detail_removed', { value: identity.value })),
              },
              t('action.remove'),
            ),
          ),
        ),
      )
    : null;

  const contactPanel = h(
    'section',
    { class: 'session-contact', 'aria-labelledby': 'session-contact-title' },
    h('h2', { id: 'session-contact-title' }, t('session.contact')),
    card
      ? [
          h('p', { class: 'session-name' }, contactName(card)),
          link
            ? h('p', { class: 'muted' }, t('session.linked_by', { who: link.linked_by, when: formatDateTime(link.linked_at) }))
            : h('p', { class: 'muted' }, t('session.resolved')),
          details,
        ]
      : h('p', {}, t('session.unidentified')),
    ref ? null : h('p', { class: 'muted' }, t('session.no_conversation')),
    problems,
    h(
      'div',
      { class: 'actions wrap' },
      h('button', { type: 'button', onclick: addContact }, t('session.add_contact')),
      ref ? h('button', { type: 'button', onclick: pickExisting }, t('session.pick')) : null,
      card ? h('button', { type: 'button', onclick: addDetail }, t('session.add_detail')) : null,
      link ? h('button', { type: 'button', onclick: () => act(() => api.unlink(ref), t('session.unlinked')) }, t('session.unlink')) : null,
      card ? h('a', { class: 'button', href: href(['contacts', card.contact_id]) }, t('session.open_directory')) : null,
    ),
    workspace,
  );

  replace(
    main,
    h(
      'article',
      { class: 'session' },
      h('h1', {}, t('session.title', { channel: tOr(`channel.${interaction.channel}`, interaction.channel), when: formatDateTime(interaction.occurred_at) })),
      h('div', { class: 'session-columns' }, h('section', { class: 'session-conversation', 'aria-label': t('session.conversation') }, interactionDetail(interaction, { sessionLink: false })), contactPanel),
    ),
  );
}
