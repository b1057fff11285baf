// Channels and identifier kinds: their names and icons.

import { h } from './dom.js';
import { t } from './i18n.js';

/** Channels in the order the filters list them, with the letters of their badge. */
export const CHANNELS = {
  messenger: 'M',
  whatsapp: 'WA',
  vk: 'VK',
  apple: 'A',
  email: '@',
  voip: '☎',
  webchat: 'W',
};

/** The channel an identifier kind belongs to (the resolver's `channel=` filter uses the same). */
export const KIND_CHANNEL = { psid: 'messenger', whatsapp: 'whatsapp', vk: 'vk', apple: 'apple', email: 'email', phone: 'voip' };

/** Identifier kinds a channel gives (shown under "channel identifiers" on the card). */
export const CHANNEL_KINDS = ['psid', 'whatsapp', 'vk', 'apple'];

export function channelName(channel) {
  return t(`channel.${channel}`);
}

/** A channel's badge; the name is its accessible label. */
export function channelIcon(channel) {
  return h(
    'span',
    { class: `channel channel-${channel in CHANNELS ? channel : 'other'}`, role: 'img', 'aria-label': channelName(channel), title: channelName(channel) },
    CHANNELS[channel] ?? '?',
  );
}

/** The channels a contact card can be reached on, from its identifiers. */
export function channelsOf(card) {
  const found = new Set();
  for (const identity of card.identities ?? []) {
    if (KIND_CHANNEL[identity.kind]) found.add(KIND_CHANNEL[identity.kind]);
  }
  return Object.keys(CHANNELS).filter((channel) => found.has(channel));
}
