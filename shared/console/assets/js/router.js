// Hash routes (`#/contacts/<id>/history?q=…`): the console is one page, so a route is a link
// that can be bookmarked, opened in a new tab and sent to a colleague.

/** The current route: its path segments (decoded) and query. */
export function route() {
  const [path, search] = location.hash.replace(/^#\/?/, '').split('?');
  const segments = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { segments, query: new URLSearchParams(search || '') };
}

/** A hash link: `href(['contacts', id], {q: 'x'})` → `#/contacts/<id>?q=x`. */
export function href(segments, params = {}) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== '') query.set(key, value);
  }
  const text = query.toString();
  return `#/${segments.map(encodeURIComponent).join('/')}${text ? `?${text}` : ''}`;
}

export function navigate(hash) {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = hash;
}

/** Changes the address without rendering again (filters typed into a screen that is shown). */
export function remember(hash) {
  history.replaceState(null, '', hash);
}
