// The contact card: ID (copyable), name with its source, identifiers, Save, Delete (confirmed),
// merge with another contact, the merge history with unmerge, proposed identifiers to confirm
// or reject; the History tab shows the contact's timeline. `#/contacts/new` creates a contact.

import { api } from '../api.js';
import { field, h, replace } from '../dom.js';
import { formatDateTime, t, tOr } from '../i18n.js';
import { href, navigate } from '../router.js';
import { confirmDialog, contactName, errorNode, notify, notifyNext } from '../widgets.js';
import * as history from './history.js';
import { identityEditor } from './identities.js';
import { openMerge } from './merge.js';

export async function render(main, context) {
  const [, contactId, tab] = context.segments;
  if (contactId === 'new') return renderNew(main, context);
  const [card, definitions] = await Promise.all([
    api.contact(contactId, context.signal),
    api.definitions(context.signal).then((page) => page.items),
  ]);
  const panel = h('div', { class: 'tab-panel', role: 'tabpanel' });
  const tabs = [
    ['detail', t('card.tab_detail'), href(['contacts', contactId])],
    ['history', t('card.tab_history'), href(['contacts', contactId, 'history'])],
  ];
  const activeTab = tab === 'history' ? 'history' : 'detail';
  replace(
    main,
    h(
      'article',
      { class: 'contact-card' },
      h('div', { class: 'heading' }, h('h1', {}, contactName(card)), idField(card.contact_id)),
      h(
        'nav',
        { class: 'tabs', 'aria-label': t('card.tabs') },
        tabs.map(([name, label, link]) => h('a', { href: link, 'aria-current': name === activeTab ? 'page' : null }, label)),
      ),
      panel,
    ),
  );
  if (activeTab === 'history') return history.render(panel, context, card);
  return renderDetail(panel, context, card, definitions, {});
}

/** The read-only ID with a copy button. */
function idField(contactId) {
  const input = h('input', { readonly: true, value: contactId, class: 'mono', size: 38 });
  return h(
    'div',
    { class: 'id-field' },
    field(t('contact.id'), input),
    h(
      'button',
      {
        type: 'button',
        onclick: async () => {
          try {
            await navigator.clipboard.writeText(contactId);
          } catch {
            input.select();
            document.execCommand('copy');
          }
          notify(t('card.copied'));
        },
      },
      t('card.copy_id'),
    ),
  );
}

/** The card's form, merge history and proposals; `rejected` keeps what the last save refused. */
async function renderDetail(panel, context, card, definitions, { rejected = [], refused = [], nameError = null, nameValue = null }) {
  const contactId = card.contact_id;
  const merged = Boolean(card.merged_into);
  const name = h('input', { value: nameValue ?? card.name ?? '', autocomplete: 'off', disabled: merged });
  const editor = identityEditor({ identities: card.identities, definitions, rejected });
  const problems = h(
    'div',
    { 'aria-live': 'assertive' },
    refused.map(({ value, error }) => h('div', {}, h('strong', {}, value), errorNode(error))),
  );

  async function save(event) {
    event.preventDefault();
    const changes = editor.changes();
    // Refused additions come back as rows with their error; other refusals are listed above.
    const failed = [];
    const refused = [];
    let renameError = null;
    const newName = name.value.trim();
    if (newName && newName !== (card.name ?? '')) {
      try {
        await api.rename(contactId, newName);
      } catch (error) {
        renameError = error;
      }
    }
    for (const identity of changes.remove) {
      try {
        await api.removeIdentity(contactId, identity.identity_id);
      } catch (error) {
        refused.push({ value: identity.value, error });
      }
    }
    for (const { identity, value } of changes.edit) {
      try {
        await api.editIdentity(contactId, identity.identity_id, value);
      } catch (error) {
        refused.push({ value, error });
      }
    }
    for (const { kind, scope, value } of changes.add) {
      try {
        await api.addIdentity(contactId, { kind, scope, value });
      } catch (error) {
        failed.push({ kind, scope, value, error });
      }
    }
    const fresh = await api.contact(contactId);
    if (!renameError && failed.length === 0 && refused.length === 0) {
      notifyNext(t('card.saved'));
      context.rerender();
      return;
    }
    notify(t('card.save_failed'), 'error');
    await renderDetail(panel, context, fresh, definitions, {
      rejected: failed,
      refused,
      nameError: renameError,
      nameValue: renameError ? newName : null,
    });
  }

  async function remove() {
    const erase = h('input', { type: 'checkbox', name: 'erase' });
    const confirmed = await confirmDialog({
      title: t('card.delete_title'),
      message: t('card.delete_question', { name: contactName(card) }),
      confirmLabel: t('action.delete'),
      danger: true,
      body: h('label', { class: 'check' }, erase, t('card.delete_erase')),
    });
    if (!confirmed) return;
    try {
      await api.deleteContact(contactId, erase.checked);
      notifyNext(t('card.deleted', { name: contactName(card) }));
      navigate(href(['contacts']));
    } catch (error) {
      replace(problems, errorNode(error));
    }
  }

  const form = h(
    'form',
    { class: 'card-form', novalidate: true, onsubmit: save },
    h(
      'div',
      { class: 'name-row' },
      field(t('contact.name'), name),
      h('span', { class: 'source', id: 'name-source' }, t('card.name_source', { source: tOr(`source.${card.name_source}`, card.name_source ?? '—') })),
    ),
    nameError ? errorNode(nameError) : null,
    editor.element,
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'submit', class: 'primary', disabled: merged }, t('action.save')),
      h('button', { type: 'button', disabled: merged, onclick: () => openMerge({ card, onMerged: context.rerender }) }, t('card.merge')),
      h('button', { type: 'button', class: 'danger', disabled: merged, onclick: remove }, t('action.delete')),
    ),
  );
  name.setAttribute('aria-describedby', 'name-source');

  const mergedNotice = merged
    ? h(
        'p',
        { class: 'notice notice-warning' },
        t('card.merged_into'),
        ' ',
        h('a', { href: href(['contacts', card.merged_into]) }, t('card.open_survivor')),
      )
    : null;
  const facts = h(
    'dl',
    { class: 'facts' },
    h('dt', {}, t('card.created')),
    h('dd', {}, formatDateTime(card.created_at)),
    h('dt', {}, t('directory.last_interaction')),
    h('dd', {}, formatDateTime(card.last_interaction_at)),
  );
  const mergesSection = h('section', { class: 'merges', 'aria-labelledby': 'merges-title' }, h('h2', { id: 'merges-title' }, t('card.merge_history')));
  replace(panel, mergedNotice, problems, h('div', { class: 'card-columns' }, form, h('aside', {}, facts, proposals(card, context), mergesSection)));
  await renderMerges(mergesSection, context, contactId);
}

/** Identifiers the resolver proposes from typed input (a newer Directory API), to confirm or reject. */
function proposals(card, context) {
  const proposed = Array.isArray(card.proposed_identities) ? card.proposed_identities : [];
  if (proposed.length === 0) return null;
  const decide = async (proposal, decision) => {
    try {
      await api.decideProposal(card.contact_id, proposal.proposal_id, decision);
      notifyNext(t(decision === 'confirm' ? 'card.proposal_confirmed' : 'card.proposal_rejected', { value: proposal.value }));
      context.rerender();
    } catch (error) {
      notify(errorNode(error).textContent, 'error');
    }
  };
  return h(
    'section',
    { class: 'proposals', 'aria-labelledby': 'proposals-title' },
    h('h2', { id: 'proposals-title' }, t('card.proposals')),
    h(
      'ul',
      {},
      proposed.map((proposal) =>
        h(
          'li',
          {},
          h('span', {}, `${tOr(`kind.${proposal.kind}`, proposal.kind)}: `, h('strong', {}, proposal.value)),
          h('span', { class: 'muted' }, ` ${formatDateTime(proposal.proposed_at)}`),
          proposal.interaction_id ? [' ', h('a', { href: href(['session', proposal.interaction_id]) }, t('card.proposal_source'))] : null,
          h('button', { type: 'button', 'aria-label': t('card.proposal_confirm_value', { value: proposal.value }), onclick: () => decide(proposal, 'confirm') }, t('card.proposal_confirm')),
          h('button', { type: 'button', 'aria-label': t('card.proposal_reject_value', { value: proposal.value }), onclick: () => decide(proposal, 'reject') }, t('card.proposal_reject')),
        ),
      ),
    ),
  );
}

async function renderMerges(section, context, contactId) {
  const merges = (await api.merges(contactId, context.signal)).items;
  if (merges.length === 0) {
    section.append(h('p', { class: 'muted' }, t('card.no_merges')));
    return;
  }
  const others = await Promise.all(
    merges.map((merge) => {
      const other = merge.survivor_id === contactId ? merge.merged_id : merge.survivor_id;
      return api.contact(other, context.signal).catch(() => ({ contact_id: other, name: null }));
    }),
  );
  section.append(
    h(
      'ul',
      { class: 'merge-list' },
      merges.map((merge, index) => {
        const other = others[index];
        const survived = merge.survivor_id === contactId;
        const unmerge = async () => {
          try {
            await api.unmerge(merge.merge_id);
            notifyNext(t('card.unmerged', { name: contactName(other) }));
            context.rerender();
          } catch (error) {
            section.append(errorNode(error));
          }
        };
        return h(
          'li',
          {},
          h(
            'p',
            {},
            t(survived ? 'card.merged_in' : 'card.merged_away', {}),
            ' ',
            h('a', { href: href(['contacts', other.contact_id]) }, contactName(other)),
          ),
          h('p', { class: 'muted' }, t('card.merged_when', { when: formatDateTime(merge.merged_at), who: merge.merged_by })),
          merge.unmerged_at
            ? h('p', { class: 'muted' }, t('card.unmerged_when', { when: formatDateTime(merge.unmerged_at) }))
            : h('button', { type: 'button', onclick: unmerge }, t('card.unmerge')),
        );
      }),
    ),
  );
}

/** A new contact: name, e-mails, phones and custom identifiers from the operator. */
async function renderNew(main, context) {
  const definitions = (await api.definitions(context.signal)).items;
  const name = h('input', { autocomplete: 'off' });
  const editor = identityEditor({ definitions });
  const problems = h('div', { 'aria-live': 'assertive' });
  const form = h(
    'form',
    {
      class: 'card-form',
      novalidate: true,
      onsubmit: async (event) => {
        event.preventDefault();
        const identities = editor.changes().add.map(({ kind, scope, value }) => ({ kind, scope, value }));
        try {
          const card = await api.createContact({ name: name.value.trim() || null, identities });
          notifyNext(t('card.created_notice', { name: contactName(card) }));
          navigate(href(['contacts', card.contact_id]));
        } catch (error) {
          replace(problems, errorNode(error));
        }
      },
    },
    field(t('contact.name'), name),
    editor.element,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, t('action.create'))),
  );
  replace(main, h('article', { class: 'contact-card' }, h('h1', {}, t('card.new_title')), problems, form));
}
