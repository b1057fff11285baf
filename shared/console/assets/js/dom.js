// Building the page. Everything shown comes from customers (names, messages, subjects), so the
// DOM is built with text nodes and attributes only: no HTML string is ever parsed.

/**
 * An element: `h('a', {href: '#/x', class: 'link', onclick: fn}, 'text', otherNode)`.
 * Props named `on…` become listeners; `true`/`false` set or omit a boolean attribute; `null`
 * and `undefined` are skipped. Children are nodes or strings (text), nested arrays allowed.
 */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      element.addEventListener(name.slice(2), value);
    } else if (name === 'value' && 'value' in element) {
      element.value = value;
    } else if (name === 'checked' || name === 'selected') {
      element[name] = Boolean(value);
    } else {
      element.setAttribute(name, value === true ? '' : String(value));
    }
  }
  append(element, children);
  return element;
}

/** Appends children (nodes, strings as text, arrays; null/false skipped). */
export function append(parent, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

/** Replaces every child of `parent`. */
export function replace(parent, ...children) {
  parent.replaceChildren();
  return append(parent, children);
}

const ENTITIES = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'" };

/**
 * A search snippet of the Timeline API as nodes. The API escapes the text (`&`, `<`, `>`)
 * before PostgreSQL's ts_headline wraps matches in `<mark>…</mark>`, so those two tags are the
 * only markup: they become <mark> elements, everything else text with the entities decoded.
 */
export function highlighted(snippet) {
  const fragment = document.createDocumentFragment();
  let marked = false;
  for (const part of String(snippet).split(/(<mark>|<\/mark>)/)) {
    if (part === '<mark>' || part === '</mark>') {
      marked = part === '<mark>';
      continue;
    }
    if (!part) continue;
    const text = part.replace(/&(?:amp|lt|gt|quot|#39);/g, (entity) => ENTITIES[entity]);
    fragment.append(marked ? h('mark', {}, text) : document.createTextNode(text));
  }
  return fragment;
}

/** `url` when it is an absolute http(s) URL (never `javascript:` and the like), else null. */
export function safeUrl(url) {
  if (typeof url !== 'string') return null;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.href : null;
  } catch {
    return null;
  }
}

/** A link to a URL from the data, opened outside the console; plain text when not http(s). */
export function externalLink(url, text) {
  const href = safeUrl(url);
  return href ? h('a', { href, target: '_blank', rel: 'noopener noreferrer' }, text ?? url) : h('span', {}, text ?? url);
}

let unique = 0;
/** A fresh id for label/aria relations. */
export function uid(prefix = 'id') {
  unique += 1;
  return `${prefix}-${unique}`;
}

/** A labelled form field: `[label, control]` with the label pointing at the control. */
export function field(labelText, control, hint) {
  if (!control.id) control.id = uid('field');
  const hintNode = hint ? h('span', { class: 'hint', id: `${control.id}-hint` }, hint) : null;
  if (hintNode) control.setAttribute('aria-describedby', hintNode.id);
  return h('div', { class: 'field' }, h('label', { for: control.id }, labelText), control, hintNode);
}
