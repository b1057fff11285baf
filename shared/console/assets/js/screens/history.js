// A contact's history: every interaction across channels and every change of contact details,
// newest first, with full-text search (highlighted snippets), channel and type filters and
// infinite scroll. An interaction expands to its transcript, details and parameters.

import { api } from '../api.js';
import { channelIcon, CHANNELS } from '../channels.js';
import { externalLink, field, h, highlighted, replace } from '../dom.js';
import { formatDateTime, formatDuration, formatSize, t, tOr } from '../i18n.js';
import { href, remember } from '../router.js';
import { errorNode } from '../widgets.js';

const PREVIEW = 160;

function shorten(text) {
  const flat = String(text ?? '').replace(/\s+/g, ' ').trim();
  return flat.length > PREVIEW ? `${flat.slice(0, PREVIEW)}…` : flat;
}

function time(iso) {
  return h('time', { datetime: iso }, formatDateTime(iso));
}

function direction(value) {
  return h('span', { class: `direction ${value}`, title: t(`direction.${value}`) }, value === 'outbound' ? '↗' : '↙', h('span', { class: 'sr-only' }, t(`direction.${value}`)));
}

/** A call in one line: "Call · completed · 2:00". */
function callLine({ status, duration }) {
  return [t('history.call'), status ? tOr(`call.${status}`, status) : null, duration !== undefined && duration !== null ? formatDuration(duration) : null]
    .filter(Boolean)
    .join(' · ');
}

/** What an interaction is about, in one line. */
function headline(item) {
  if (item.channel === 'voip') {
    const details = item.details ?? {};
    return callLine({ status: details.call_status, duration: details.duration_s });
  }
  return shorten(item.subject || item.text || t('history.no_text'));
}

/** A value of a contact event's change: a string, or an identifier `{kind, value, scope}`. */
function changeValue(value) {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'object') return value.value ?? JSON.stringify(value);
  return String(value);
}

function fieldLabel(name) {
  if (name === 'name') return t('contact.name');
  const kind = name.startsWith('identities.') ? name.slice('identities.'.length) : name;
  return tOr(`kind.${kind}`, kind);
}

function actorText(actor) {
  if (!actor?.type) return '';
  if (actor.type === 'channel') return t('actor.channel', { channel: tOr(`channel.${actor.channel}`, actor.channel) });
  return t(`actor.${actor.type}`, { id: actor.id ?? '' });
}

function contactEvent(item) {
  const changes = Array.isArray(item.changes) ? item.changes : [];
  return h(
    'li',
    { class: 'item event' },
    h(
      'div',
      { class: 'item-head' },
      h('span', { class: 'channel channel-event', role: 'img', 'aria-label': t('history.contact_change') }, '✎'),
      time(item.occurred_at),
      h('strong', {}, tOr(`event.${item.kind}`, item.kind)),
      h('span', { class: 'muted' }, actorText(item.actor)),
    ),
    changes.length
      ? h(
          'ul',
          { class: 'changes' },
          changes.map((change) =>
            h(
              'li',
              {},
              `${fieldLabel(change.field)}: `,
              change.before !== null && change.before !== undefined ? [h('del', {}, changeValue(change.before)), ' → '] : null,
              h('ins', {}, changeValue(change.after)),
            ),
          ),
        )
      : null,
  );
}

function attachmentList(attachments) {
  const list = (Array.isArray(attachments) ? attachments : []).map((entry) => entry.attachment ?? entry);
  if (list.length === 0) return null;
  return h(
    'ul',
    { class: 'attachments', 'aria-label': t('history.attachments') },
    list.map((attachment) =>
      h(
        'li',
        {},
        attachment.url ? externalLink(attachment.url, attachment.name || attachment.url) : h('span', {}, attachment.name || '—'),
        h('span', { class: 'muted' }, ` ${[attachment.mime, formatSize(attachment.size)].filter(Boolean).join(', ')}`),
      ),
    ),
  );
}

function definitionList(pairs) {
  const shown = pairs.filter(([, value]) => value !== null && value !== undefined && value !== '');
  return h('dl', { class: 'facts' }, shown.map(([label, value]) => [h('dt', {}, label), h('dd', {}, value)]));
}

/** The expanded interaction: details (call or e-mail specifics), transcript, parameters. */
export function interactionDetail(detail, { sessionLink = true } = {}) {
  const details = detail.details ?? {};
  const participants = (details.participants ?? []).map((p) => `${tOr(`kind.${p.kind}`, p.kind)}: ${p.value}`).join(', ');
  const matched = detail.matched_by?.kind ? `${tOr(`kind.${detail.matched_by.kind}`, detail.matched_by.kind)} ${detail.matched_by.value}` : null;
  const facts = [
    [t('history.channel'), tOr(`channel.${detail.channel}`, detail.channel)],
    [t('history.started'), formatDateTime(details.started_at ?? detail.occurred_at)],
    [t('history.ended'), details.ended_at ? formatDateTime(details.ended_at) : null],
    [t('history.messages'), String(detail.message_count)],
    [t('history.subject'), details.subject],
    [t('history.participants'), participants],
    [t('history.call_from'), details.from],
    [t('history.call_to'), details.to],
    [t('history.duration'), details.duration_s !== undefined ? formatDuration(details.duration_s) : null],
    [t('history.call_status'), details.call_status ? tOr(`call.${details.call_status}`, details.call_status) : null],
    [t('history.recording'), details.recording_url ? externalLink(details.recording_url, t('history.recording_link')) : null],
    [t('history.delivery'), details.delivery_status],
    [t('history.matched_by'), matched ?? (detail.resolution?.created_contact ? t('history.created_contact') : null)],
    [t('history.conversation'), detail.conversation_ref],
  ];
  const parameters = Object.entries(detail.parameters ?? {});
  const transcript = detail.transcript ?? [];
  return h(
    'div',
    { class: 'interaction-detail' },
    definitionList(facts),
    attachmentList(detail.attachments),
    h('h3', {}, t('history.transcript')),
    transcript.length === 0
      ? h('p', { class: 'muted' }, t('history.no_text'))
      : h(
          'ol',
          { class: 'transcript' },
          transcript.map((message) =>
            h(
              'li',
              { class: `message ${message.direction}` },
              h('div', { class: 'message-head' }, direction(message.direction), time(message.occurred_at), message.delivery_status ? h('span', { class: 'muted' }, tOr(`delivery.${message.delivery_status}`, message.delivery_status)) : null, message.edited_at ? h('span', { class: 'muted' }, t('history.edited')) : null),
              message.subject ? h('p', { class: 'subject' }, message.subject) : null,
              message.text ? h('p', { class: 'text' }, message.text) : null,
              message.call?.status ? h('p', { class: 'text' }, callLine({ status: message.call.status, duration: message.call.duration_s })) : null,
              attachmentList(message.attachments),
            ),
          ),
        ),
    parameters.length
      ? [
          h('h3', {}, t('history.parameters')),
          h(
            'table',
            { class: 'parameters' },
            h('tbody', {}, parameters.map(([key, value]) => h('tr', {}, h('th', { scope: 'row' }, key), h('td', {}, String(value))))),
          ),
        ]
      : null,
    sessionLink ? h('p', {}, h('a', { href: href(['session', detail.interaction_id]) }, t('history.open_session'))) : null,
  );
}

function interaction(item, signal) {
  const detailId = `detail-${item.interaction_id}`;
  const container = h('div', { id: detailId, class: 'detail-container', hidden: true });
  let loaded = false;
  const toggle = h(
    'button',
    {
      type: 'button',
      class: 'item-toggle',
      'aria-expanded': 'false',
      'aria-controls': detailId,
      onclick: async () => {
        const open = toggle.getAttribute('aria-expanded') === 'true';
        toggle.setAttribute('aria-expanded', String(!open));
        container.hidden = open;
        if (open || loaded) return;
        loaded = true;
        replace(container, h('p', { class: 'muted' }, t('history.loading')));
        try {
          replace(container, interactionDetail(await api.interaction(item.interaction_id, signal)));
        } catch (error) {
          loaded = false;
          if (error.name !== 'AbortError') replace(container, errorNode(error));
        }
      },
    },
    headline(item),
  );
  return h(
    'li',
    { class: 'item interaction' },
    h(
      'div',
      { class: 'item-head' },
      channelIcon(item.channel),
      direction(item.direction),
      time(item.occurred_at),
      toggle,
      item.message_count > 1 ? h('span', { class: 'badge' }, t('history.message_count', { count: item.message_count })) : null,
    ),
    item.snippet ? h('p', { class: 'snippet' }, highlighted(item.snippet)) : null,
    container,
  );
}

export async function render(panel, context, card) {
  const { query, signal, config } = context;
  const q = h('input', { type: 'search', name: 'q', value: query.get('q') ?? '', autocomplete: 'off' });
  const channel = h(
    'select',
    { name: 'channel' },
    h('option', { value: '' }, t('history.all_channels')),
    Object.keys(CHANNELS).map((value) => h('option', { value, selected: query.get('channel') === value }, t(`channel.${value}`))),
  );
  const type = h(
    'select',
    { name: 'type' },
    [
      ['', t('history.all_types')],
      ['interaction', t('history.interactions')],
      ['contact_event', t('history.contact_changes')],
    ].map(([value, label]) => h('option', { value, selected: (query.get('type') ?? '') === value }, label)),
  );
  const form = h(
    'form',
    { class: 'filters row', role: 'search', 'aria-label': t('history.search_region') },
    field(t('history.search'), q),
    field(t('history.channel'), channel),
    field(t('history.type'), type),
    h('button', { type: 'submit', class: 'primary' }, t('action.search')),
  );
  const list = h('ol', { class: 'timeline', 'aria-label': t('card.tab_history') });
  const status = h('p', { class: 'muted', 'aria-live': 'polite' });
  const more = h('div', { class: 'more' });
  replace(panel, form, status, list, more);

  let controller = null;
  let cursor = null;
  let loading = false;
  let count = 0;
  const observer = new IntersectionObserver((entries) => {
    if (entries.some((entry) => entry.isIntersecting) && cursor && !loading) load(cursor);
  });

  async function load(after) {
    if (!after) {
      controller?.abort();
      controller = new AbortController();
      signal.addEventListener('abort', () => controller.abort());
      replace(list);
      count = 0;
      const filters = { q: q.value.trim(), channel: channel.value, type: type.value };
      remember(href(['contacts', card.contact_id, 'history'], filters));
    }
    loading = true;
    replace(more, h('p', { class: 'muted' }, t('history.loading')));
    try {
      const page = await api.timeline(
        card.contact_id,
        { q: q.value.trim(), channel: channel.value, type: type.value, cursor: after, limit: config.page_size },
        controller.signal,
      );
      list.append(...page.items.map((item) => (item.type === 'contact_event' ? contactEvent(item) : interaction(item, controller.signal))));
      count += page.items.length;
      replace(status, count === 0 ? t('history.nothing') : t('history.shown', { count }));
      cursor = page.next_cursor;
      replace(more, cursor ? h('button', { type: 'button', onclick: () => load(cursor) }, t('action.load_more')) : null);
      // Observing anew reports the button at once if it is still in view (a short page).
      observer.unobserve(more);
      if (cursor) observer.observe(more);
    } catch (error) {
      if (error.name !== 'AbortError') replace(more, errorNode(error));
    } finally {
      loading = false;
    }
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    load(null);
  });
  channel.addEventListener('change', () => load(null));
  type.addEventListener('change', () => load(null));
  await load(null);
  return () => observer.disconnect();
}
