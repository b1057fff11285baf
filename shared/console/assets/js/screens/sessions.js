// Unidentified conversations: interactions no contact could be found for, newest first; each
// opens the session panel, where an operator adds a contact or picks an existing one. The list
// comes from the Timeline API's `/v1/conversations/unidentified` (shown when the server has it).

import { api } from '../api.js';
import { channelIcon } from '../channels.js';
import { h, replace } from '../dom.js';
import { formatDateTime, t } from '../i18n.js';
import { href } from '../router.js';
import { errorNode } from '../widgets.js';

export async function render(main, { config, signal }) {
  const body = h('tbody');
  const more = h('div', { class: 'more' });
  const status = h('p', { class: 'muted', 'aria-live': 'polite' });
  replace(
    main,
    h(
      'section',
      {},
      h('h1', {}, t('sessions.title')),
      h('p', { class: 'muted' }, t('sessions.hint')),
      status,
      h(
        'table',
        { class: 'contacts' },
        h('thead', {}, h('tr', {}, [t('history.channel'), t('history.started'), t('sessions.last_message'), t('history.messages'), t('sessions.preview')].map((label) => h('th', { scope: 'col' }, label)))),
        body,
      ),
      more,
    ),
  );
  let shown = 0;
  async function load(cursor) {
    replace(more);
    try {
      const page = await api.unidentified({ cursor, limit: config.page_size }, signal);
      body.append(
        ...page.items.map((item) =>
          h(
            'tr',
            {},
            h('td', {}, channelIcon(item.channel)),
            h('td', {}, h('a', { href: href(['session', item.interaction_id]) }, formatDateTime(item.occurred_at))),
            h('td', {}, formatDateTime(item.last_message_at)),
            h('td', {}, String(item.message_count)),
            h('td', {}, preview(item)),
          ),
        ),
      );
      shown += page.items.length;
      replace(status, shown === 0 ? t('sessions.nothing') : null);
      if (page.next_cursor) replace(more, h('button', { type: 'button', onclick: () => load(page.next_cursor) }, t('action.load_more')));
    } catch (error) {
      if (error.name === 'AbortError') return;
      replace(status, error.status === 404 ? t('sessions.unavailable') : errorNode(error));
    }
  }
  await load(null);
}

/** The start of the conversation's text (or an e-mail's subject), on one line. */
function preview(item) {
  const text = (item.text ?? item.subject ?? '').replace(/\s+/g, ' ').trim();
  return text.length > 120 ? `${text.slice(0, 119)}…` : text;
}
