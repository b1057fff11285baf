// Pieces several screens share: messages to the operator, a confirmation dialog, the contact
// picker ("search, then choose") and how a contact is named.

import { api, ApiError } from './api.js';
import { h, replace, uid } from './dom.js';
import { t } from './i18n.js';
import { href } from './router.js';

/** A message in the shell's live region (errors in the alert region, read out at once). */
export function notify(text, kind = 'info') {
  const region = document.getElementById(kind === 'error' ? 'alert' : 'status');
  replace(region, text ? h('p', { class: `notice notice-${kind}` }, text) : null);
}

let carried = null;

/** A message for the screen the console is about to show (after a save that navigates). */
export function notifyNext(text, kind = 'info') {
  carried = { text, kind };
}

/** Clears both regions, then shows the carried message, if any. */
export function showCarried() {
  notify('', 'error');
  notify('', 'info');
  if (carried) notify(carried.text, carried.kind);
  carried = null;
}

/** What went wrong, for an operator. */
export function errorText(error) {
  if (error instanceof ApiError) {
    if (error.status === 409 && error.problem.owner_contact_id) {
      return t('error.owned', { detail: error.problem.detail });
    }
    if (error.status === 403) return t('error.forbidden');
    if (error.status === 404) return t('error.not_found');
    return error.problem.detail || t('error.http', { status: error.status });
  }
  return error?.message || String(error);
}

/** An error shown where it happened, with a link to the contact holding a taken identifier. */
export function errorNode(error) {
  const owner = error instanceof ApiError && error.problem.owner_contact_id;
  return h(
    'p',
    { class: 'notice notice-error', role: 'alert' },
    errorText(error),
    owner ? [' ', h('a', { href: href(['contacts', owner]) }, t('error.open_owner'))] : null,
  );
}

export function contactName(card) {
  return card?.name?.trim() || t('contact.unnamed');
}

/** E-mails and phones of a card, for a line under its name. */
export function contactSummary(card) {
  return (card.identities ?? [])
    .filter((identity) => identity.kind === 'email' || identity.kind === 'phone')
    .map((identity) => identity.value)
    .join(', ');
}

/**
 * A modal confirmation (`<dialog>`: focus stays inside, Escape cancels). `body` may add form
 * controls; resolves with the dialog's form when confirmed, null when cancelled.
 */
export function confirmDialog({ title, message, confirmLabel, danger = false, body = null }) {
  return new Promise((resolve) => {
    const titleId = uid('dialog-title');
    const form = h(
      'form',
      { method: 'dialog' },
      h('h2', { id: titleId }, title),
      h('p', {}, message),
      body,
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'submit', value: 'confirm', class: danger ? 'danger' : 'primary' }, confirmLabel),
        h('button', { type: 'submit', value: 'cancel', formnovalidate: true }, t('action.cancel')),
      ),
    );
    const dialog = h('dialog', { 'aria-labelledby': titleId }, form);
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(dialog.returnValue === 'confirm' ? form : null);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/**
 * "Search, then choose": a search box over the directory and the matching contacts, each with
 * a button that calls `onChoose(card)`. `exclude` hides contacts (the one being merged into).
 */
export function contactPicker({ label, onChoose, exclude = [], chooseLabel = t('action.choose') }) {
  const input = h('input', { type: 'search', autocomplete: 'off', placeholder: t('picker.placeholder') });
  const results = h('ul', { class: 'picker-results', 'aria-live': 'polite' });
  let timer = null;
  let controller = null;

  async function search() {
    controller?.abort();
    controller = new AbortController();
    const q = input.value.trim();
    if (!q) {
      replace(results);
      return;
    }
    try {
      const page = await api.contacts({ q, limit: 10 }, controller.signal);
      const cards = page.items.filter((card) => !exclude.includes(card.contact_id));
      replace(
        results,
        cards.length === 0
          ? h('li', { class: 'muted' }, t('picker.nothing'))
          : cards.map((card) =>
              h(
                'li',
                {},
                h('span', { class: 'picker-name' }, contactName(card)),
                h('span', { class: 'muted' }, contactSummary(card)),
                h('button', { type: 'button', onclick: () => onChoose(card), 'aria-label': `${chooseLabel}: ${contactName(card)}` }, chooseLabel),
              ),
            ),
      );
    } catch (error) {
      if (error.name !== 'AbortError') replace(results, h('li', {}, errorNode(error)));
    }
  }

  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(search, 250);
  });
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') {
      event.preventDefault();
      clearTimeout(timer);
      search();
    }
  });
  const id = uid('picker');
  input.id = id;
  return h('div', { class: 'picker', role: 'search' }, h('label', { for: id }, label), input, results);
}
