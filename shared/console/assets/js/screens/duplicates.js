// The duplicates queue: pairs of contacts one interaction matched, with what they share (and
// the resolver's evidence, where it gives one). Compare opens the merge preview; Accept merges
// into the older contact; Dismiss records that they are different people.

import { api } from '../api.js';
import { h, replace } from '../dom.js';
import { formatDateTime, t, tOr } from '../i18n.js';
import { href } from '../router.js';
import { contactName, contactSummary, errorNode, notifyNext } from '../widgets.js';
import { openMerge } from './merge.js';

/** Cards shown per page of the queue (each pair costs two card look-ups). */
const SHOWN = 50;

function evidence(value) {
  if (!value || typeof value !== 'object') return null;
  return h(
    'dl',
    { class: 'facts small' },
    Object.entries(value).map(([key, entry]) => [h('dt', {}, tOr(`evidence.${key}`, key)), h('dd', {}, typeof entry === 'object' ? JSON.stringify(entry) : String(entry))]),
  );
}

export async function render(main, { signal, rerender }) {
  const items = (await api.duplicates(signal)).items;
  const shown = items.slice(0, SHOWN);
  const cards = await Promise.all(
    shown.flatMap((pair) => [pair.contact_a, pair.contact_b]).map((id) => api.contact(id, signal).catch(() => ({ contact_id: id, name: null, identities: [] }))),
  );
  const problems = h('div', { 'aria-live': 'assertive' });
  const act = async (action, message) => {
    try {
      await action();
      notifyNext(message);
      rerender();
    } catch (error) {
      replace(problems, errorNode(error));
    }
  };
  const person = (card) =>
    h('div', { class: 'pair-contact' }, h('a', { href: href(['contacts', card.contact_id]) }, contactName(card)), h('span', { class: 'muted' }, contactSummary(card)));
  replace(
    main,
    h(
      'section',
      { class: 'duplicates' },
      h('h1', {}, t('duplicates.title')),
      h('p', { class: 'muted' }, t('duplicates.hint')),
      problems,
      items.length === 0
        ? h('p', {}, t('duplicates.nothing'))
        : h(
            'ul',
            { class: 'pairs' },
            shown.map((pair, index) => {
              const [a, b] = [cards[2 * index], cards[2 * index + 1]];
              const body = { contact_a: pair.contact_a, contact_b: pair.contact_b };
              return h(
                'li',
                { class: 'pair' },
                h('div', { class: 'pair-people' }, person(a), h('span', { 'aria-hidden': 'true' }, '⇄'), person(b)),
                h('p', {}, t('duplicates.shared', { kind: tOr(`kind.${pair.shared_kind}`, pair.shared_kind), value: pair.shared_value }), h('span', { class: 'muted' }, ` · ${formatDateTime(pair.created_at)}`)),
                evidence(pair.evidence),
                h(
                  'div',
                  { class: 'actions' },
                  h('button', { type: 'button', onclick: () => openMerge({ card: a, other: b, onMerged: rerender }) }, t('duplicates.compare')),
                  h('button', { type: 'button', class: 'primary', onclick: () => act(() => api.acceptDuplicate(body), t('duplicates.accepted')) }, t('duplicates.accept')),
                  h('button', { type: 'button', onclick: () => act(() => api.dismissDuplicate(body), t('duplicates.dismissed')) }, t('duplicates.dismiss')),
                ),
              );
            }),
          ),
      items.length > SHOWN ? h('p', { class: 'muted' }, t('duplicates.more', { count: items.length - SHOWN })) : null,
    ),
  );
}
