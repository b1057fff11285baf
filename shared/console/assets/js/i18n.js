// Labels in Czech (first: the operators write Czech) and English, and locale-aware formats.

import { MESSAGES } from './messages.js';

const STORED = 'console.language';
let language = 'cs';

/** The language: the operator's last choice, else the server's default. */
export function initLanguage(fallback) {
  const saved = localStorage.getItem(STORED);
  setLanguage(saved in MESSAGES ? saved : fallback in MESSAGES ? fallback : 'cs');
}

export function setLanguage(next) {
  language = next;
  localStorage.setItem(STORED, next);
  document.documentElement.lang = next;
}

export function currentLanguage() {
  return language;
}

/** The label `key` with `{name}` placeholders filled from `vars`. A missing label is a bug: logged. */
export function t(key, vars = {}) {
  let text = MESSAGES[language][key];
  if (text === undefined) {
    console.error(`missing label ${language}:${key}`);
    text = key;
  }
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

/** The label `key` when there is one, else `fallback` (values from the data: kinds, statuses). */
export function tOr(key, fallback) {
  return MESSAGES[language][key] ?? fallback;
}

const locale = () => (language === 'cs' ? 'cs-CZ' : 'en-GB');

export function formatDateTime(iso) {
  if (!iso) return '—';
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso));
}

export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  const minutes = Math.floor(seconds / 60);
  return `${minutes}:${String(seconds % 60).padStart(2, '0')}`;
}

export function formatSize(bytes) {
  if (typeof bytes !== 'number') return '';
  const units = ['B', 'kB', 'MB', 'GB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${new Intl.NumberFormat(locale(), { maximumFractionDigits: unit ? 1 : 0 }).format(value)} ${units[unit]}`;
}
