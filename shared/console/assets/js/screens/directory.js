// Directory: the contacts table with search (diacritics-insensitive), filters, sort and keyset
// paging ("load more" follows `next_cursor`). The filters live in the address, so a search can
// be bookmarked and Back returns to it.

import { api } from '../api.js';
import { channelIcon, channelsOf, CHANNELS, KIND_CHANNEL } from '../channels.js';
import { field, h, replace } from '../dom.js';
import { formatDateTime, t } from '../i18n.js';
import { href, navigate, remember } from '../router.js';
import { contactName, errorNode } from '../widgets.js';

/** Filters kept in the address, as the form's field names. */
const FILTERS = ['q', 'email', 'phone', 'identifier', 'channel', 'created_from', 'created_to', 'last_from', 'last_to', 'sort'];

/** Start of a local day as RFC 3339; `nextDay` for an inclusive "to" date. */
function dayStart(date, nextDay = false) {
  if (!date) return null;
  const day = new Date(`${date}T00:00:00`);
  if (Number.isNaN(day.getTime())) return null;
  if (nextDay) day.setDate(day.getDate() + 1);
  return day.toISOString();
}

function apiParams(values, pageSize) {
  return {
    q: values.q,
    email: values.email,
    phone: values.phone,
    identifier: values.identifier,
    channel: values.channel,
    created_after: dayStart(values.created_from),
    created_before: dayStart(values.created_to, true),
    last_interaction_after: dayStart(values.last_from),
    last_interaction_before: dayStart(values.last_to, true),
    sort: values.sort,
    limit: pageSize,
  };
}

function values(form) {
  return Object.fromEntries(FILTERS.map((name) => [name, form.elements[name].value.trim()]));
}

const ROW_CHANNELS = Object.keys(CHANNELS).filter((channel) => Object.values(KIND_CHANNEL).includes(channel));

function row(card) {
  const link = href(['contacts', card.contact_id]);
  const of = (kind) => card.identities.filter((identity) => identity.kind === kind).map((identity) => identity.value);
  return h(
    'tr',
    {
      onclick: (event) => {
        if (!event.target.closest('a, button')) navigate(link);
      },
    },
    h('th', { scope: 'row' }, h('a', { href: link }, contactName(card))),
    h('td', {}, of('email').join(', ')),
    h('td', {}, of('phone').join(', ')),
    h('td', { class: 'channels' }, channelsOf(card).map(channelIcon)),
    h('td', {}, formatDateTime(card.last_interaction_at)),
  );
}

export async function render(main, { config, query, signal }) {
  const text = (name, type = 'text', extra = {}) =>
    h('input', { name, type, value: query.get(name) ?? '', autocomplete: 'off', ...extra });
  const q = text('q', 'search', { placeholder: t('directory.search_placeholder') });
  const sort = h(
    'select',
    { name: 'sort' },
    ['created', 'last_interaction', 'name'].map((value) =>
      h('option', { value, selected: query.get('sort') === value }, t(`directory.sort.${value}`)),
    ),
  );
  const channel = h(
    'select',
    { name: 'channel' },
    h('option', { value: '' }, t('directory.any_channel')),
    ROW_CHANNELS.map((value) => h('option', { value, selected: query.get('channel') === value }, t(`channel.${value}`))),
  );
  const filtersUsed = FILTERS.some((name) => !['q', 'sort'].includes(name) && query.get(name));
  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': t('directory.search_region') },
    h(
      'div',
      { class: 'row' },
      field(t('directory.search'), q),
      field(t('directory.sort'), sort),
      h('button', { type: 'submit', class: 'primary' }, t('action.search')),
    ),
    h(
      'details',
      { open: filtersUsed },
      h('summary', {}, t('directory.filters')),
      h(
        'div',
        { class: 'grid' },
        field(t('kind.email'), text('email', 'text', { inputmode: 'email' })),
        field(t('kind.phone'), text('phone', 'tel')),
        field(t('directory.identifier'), text('identifier'), t('directory.identifier_hint')),
        field(t('directory.channel'), channel),
        field(t('directory.created_from'), text('created_from', 'date')),
        field(t('directory.created_to'), text('created_to', 'date')),
        field(t('directory.last_from'), text('last_from', 'date')),
        field(t('directory.last_to'), text('last_to', 'date')),
      ),
      h('button', { type: 'reset', class: 'link-button' }, t('directory.clear')),
    ),
  );
  const body = h('tbody');
  const results = h(
    'table',
    { class: 'contacts' },
    h('caption', { class: 'sr-only' }, t('directory.title')),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        [t('contact.name'), t('contact.emails'), t('contact.phones'), t('directory.channels'), t('directory.last_interaction')].map(
          (label) => h('th', { scope: 'col' }, label),
        ),
      ),
    ),
    body,
  );
  const summary = h('p', { class: 'muted', 'aria-live': 'polite' });
  const more = h('div', { class: 'more' });
  replace(
    main,
    h(
      'section',
      { class: 'directory' },
      h('div', { class: 'heading' }, h('h1', {}, t('directory.title')), h('a', { class: 'button', href: href(['contacts', 'new']) }, t('directory.new'))),
      form,
      summary,
      results,
      more,
    ),
  );

  let controller = null;
  let shown = 0;
  async function load(cursor) {
    controller?.abort();
    controller = new AbortController();
    signal.addEventListener('abort', () => controller.abort());
    const current = values(form);
    if (!cursor) {
      remember(href(['contacts'], current));
      replace(body);
      shown = 0;
    }
    replace(more);
    try {
      const page = await api.contacts({ ...apiParams(current, config.page_size), cursor }, controller.signal);
      body.append(...page.items.map(row));
      shown += page.items.length;
      replace(summary, shown === 0 ? t('directory.nothing') : t('directory.shown', { count: shown }));
      if (page.next_cursor) {
        replace(more, h('button', { type: 'button', onclick: () => load(page.next_cursor) }, t('action.load_more')));
      }
    } catch (error) {
      if (error.name !== 'AbortError') replace(summary, errorNode(error));
    }
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    load(null);
  });
  form.addEventListener('reset', () => setTimeout(() => load(null)));
  sort.addEventListener('change', () => load(null));
  channel.addEventListener('change', () => load(null));
  let typing = null;
  q.addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(() => load(null), 300);
  });
  await load(null);
  return () => clearTimeout(typing);
}
