// Merging two contacts: choose the other contact (search, then choose), preview what the merge
// does (both cards, the name to keep, identifiers combined, what moves), then merge. The merge is
// journaled: the card's merge history can undo it.

import { api } from '../api.js';
import { h, replace, uid } from '../dom.js';
import { t, tOr } from '../i18n.js';
import { href, navigate } from '../router.js';
import { contactName, contactPicker, errorNode, notifyNext } from '../widgets.js';

function identityList(card) {
  return h(
    'ul',
    { class: 'plain' },
    card.identities.map((identity) =>
      h('li', {}, `${tOr(`kind.${identity.kind}`, identity.kind)}${identity.scope ? ` (${identity.scope})` : ''}: ${identity.value}`),
    ),
  );
}

/**
 * Opens the merge dialog from `card`. With `other` it starts at the preview (the duplicates
 * queue); `card` is the contact that stays unless the operator swaps the two.
 */
export function openMerge({ card, other = null, onMerged }) {
  const titleId = uid('merge-title');
  const content = h('div', { class: 'merge-content' });
  const dialog = h(
    'dialog',
    { class: 'wide', 'aria-labelledby': titleId },
    h('h2', { id: titleId }, t('merge.title', { name: contactName(card) })),
    content,
  );
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  const cancel = h('button', { type: 'button', onclick: () => dialog.close() }, t('action.cancel'));

  function choose() {
    const picker = contactPicker({
      label: t('merge.search'),
      exclude: [card.contact_id],
      onChoose: (chosen) => preview(card.contact_id, chosen.contact_id),
    });
    replace(content, h('p', {}, t('merge.choose_hint')), picker, h('div', { class: 'actions' }, cancel));
    picker.querySelector('input').focus();
  }

  async function preview(survivorId, mergedId) {
    replace(content, h('p', { 'aria-live': 'polite' }, t('merge.loading')));
    let result;
    try {
      result = await api.mergePreview(survivorId, mergedId);
    } catch (error) {
      replace(content, errorNode(error), h('div', { class: 'actions' }, cancel));
      return;
    }
    const nameConflict = result.conflicts.find((conflict) => conflict.field === 'name');
    const group = uid('name-choice');
    const option = (side, conflictSide) =>
      h(
        'label',
        { class: 'check' },
        h('input', { type: 'radio', name: group, value: side, checked: side === 'survivor' }),
        `${conflictSide.value} `,
        h('span', { class: 'muted' }, `(${tOr(`source.${conflictSide.source}`, conflictSide.source ?? '—')})`),
      );
    const nameChoice = nameConflict
      ? h(
          'fieldset',
          { class: 'choice' },
          h('legend', {}, t('merge.keep_name')),
          option('survivor', nameConflict.survivor),
          option('merged', nameConflict.merged),
        )
      : null;
    const combined = result.combined.length
      ? h(
          'section',
          {},
          h('h3', {}, t('merge.combined')),
          h(
            'ul',
            { class: 'plain' },
            result.combined.map((entry) =>
              h('li', {}, `${tOr(`kind.${entry.kind}`, entry.kind)}: ${[...entry.survivor, ...entry.merged].join(', ')}`),
            ),
          ),
        )
      : null;
    const problems = h('div', { 'aria-live': 'assertive' });
    const merge = async () => {
      const picked = content.querySelector(`input[name="${group}"]:checked`)?.value ?? 'survivor';
      try {
        await api.merge(survivorId, mergedId, picked);
        dialog.close();
        notifyNext(t('merge.done', { name: contactName(result.merged) }));
        if (survivorId === card.contact_id) onMerged();
        else navigate(href(['contacts', survivorId]));
      } catch (error) {
        replace(problems, errorNode(error));
      }
    };
    const side = (title, shown) =>
      h('section', { class: 'merge-side' }, h('h3', {}, title), h('p', { class: 'merge-name' }, contactName(shown)), identityList(shown));
    replace(
      content,
      h('div', { class: 'merge-sides' }, side(t('merge.stays'), result.survivor), side(t('merge.joins'), result.merged)),
      h(
        'button',
        { type: 'button', class: 'link-button', onclick: () => preview(mergedId, survivorId) },
        t('merge.swap'),
      ),
      nameChoice,
      combined,
      h('p', {}, t('merge.moves', { identities: result.moves.identities, links: result.moves.conversation_links })),
      problems,
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'button', class: 'primary', onclick: merge }, t('merge.confirm')),
        other ? null : h('button', { type: 'button', onclick: choose }, t('action.back')),
        cancel,
      ),
    );
    content.querySelector('button.primary').focus();
  }

  if (other) preview(card.contact_id, other.contact_id);
  else choose();
}
