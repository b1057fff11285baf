// The console's shell: configuration, sign-in, navigation, and one screen at a time.

import { api, configure } from './api.js';
import * as auth from './auth.js';
import { h, replace } from './dom.js';
import { currentLanguage, initLanguage, setLanguage, t } from './i18n.js';
import { href, navigate, route } from './router.js';
import * as card from './screens/card.js';
import * as directory from './screens/directory.js';
import * as duplicates from './screens/duplicates.js';
import * as session from './screens/session.js';
import * as sessions from './screens/sessions.js';
import * as settings from './screens/settings.js';
import * as signin from './screens/signin.js';
import { errorNode, notifyNext, showCarried } from './widgets.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const user = document.getElementById('user');
let config = null;
let leaving = null;
/** Whether this server lists unidentified conversations (a newer Timeline API does). */
let hasUnidentified = false;

/** Which screen shows a route. */
function screenFor(segments) {
  const [first, second] = segments;
  if (first === 'contacts' && second) return { screen: card, section: 'contacts' };
  if (first === 'session' && second) return { screen: session, section: 'sessions' };
  if (first === 'sessions') return { screen: sessions, section: 'sessions' };
  if (first === 'duplicates') return { screen: duplicates, section: 'duplicates' };
  if (first === 'settings') return { screen: settings, section: 'settings' };
  return { screen: directory, section: 'contacts' };
}

function renderChrome(session, section) {
  const links = [
    ['contacts', t('nav.directory')],
    hasUnidentified ? ['sessions', t('nav.sessions')] : null,
    ['duplicates', t('nav.duplicates')],
    ['settings', t('nav.settings')],
  ].filter(Boolean);
  replace(
    nav,
    session
      ? h(
          'ul',
          {},
          links.map(([target, label]) =>
            h('li', {}, h('a', { href: href([target]), 'aria-current': target === section ? 'page' : null }, label)),
          ),
        )
      : null,
  );
  const other = currentLanguage() === 'cs' ? 'en' : 'cs';
  replace(
    user,
    session
      ? h('span', { class: 'who' }, t('user.signed_in', { tenant: session.claims.tenant_id ?? '?', role: t(`role.${session.claims.role ?? 'operator'}`) }))
      : null,
    h(
      'button',
      {
        type: 'button',
        class: 'link-button',
        lang: other,
        onclick: () => {
          setLanguage(other);
          render();
        },
      },
      t('user.language'),
    ),
    session
      ? h(
          'button',
          {
            type: 'button',
            class: 'link-button',
            onclick: () => {
              auth.signOut();
              navigate('#/signin');
            },
          },
          t('user.sign_out'),
        )
      : null,
  );
}

async function render() {
  leaving?.();
  leaving = null;
  showCarried();
  const { segments, query } = route();
  const signedIn = auth.current();
  document.title = t('app.title');
  if (!signedIn) {
    renderChrome(null, null);
    const controller = new AbortController();
    leaving = () => controller.abort();
    await signin.render(main, { config, query, signal: controller.signal, onSignedIn: afterSignIn });
    return;
  }
  if (segments[0] === 'signin') {
    navigate(href(['contacts']));
    return;
  }
  const { screen, section } = screenFor(segments);
  renderChrome(signedIn, section);
  const controller = new AbortController();
  const context = {
    config,
    segments,
    query,
    claims: signedIn.claims,
    isAdmin: signedIn.claims.role === 'admin',
    signal: controller.signal,
    rerender: render,
  };
  try {
    const cleanup = await screen.render(main, context);
    leaving = () => {
      controller.abort();
      cleanup?.();
    };
  } catch (error) {
    leaving = () => controller.abort();
    if (error.name !== 'AbortError') replace(main, errorNode(error));
  }
  const heading = main.querySelector('h1');
  if (heading && !main.contains(document.activeElement)) {
    heading.setAttribute('tabindex', '-1');
    heading.focus({ preventScroll: false });
  }
}

async function probeUnidentified() {
  try {
    await api.unidentified({ limit: 1 });
    hasUnidentified = true;
  } catch {
    hasUnidentified = false;
  }
}

async function afterSignIn(target) {
  await probeUnidentified();
  navigate(target || href(['contacts']));
}

async function start() {
  // The skip link moves focus without touching the hash (the hash is the route).
  document.querySelector('.skip').addEventListener('click', (event) => {
    event.preventDefault();
    main.focus();
  });
  config = await (await fetch('config.json', { headers: { accept: 'application/json' } })).json();
  initLanguage(config.language);
  configure({
    token: () => auth.current()?.token ?? null,
    onUnauthorized: () => {
      auth.signOut();
      navigate('#/signin');
    },
  });
  if (config.sign_in.mode === 'oidc') {
    try {
      const target = await auth.completeOidc(config.sign_in);
      if (target) location.hash = target;
    } catch (error) {
      notifyNext(t('signin.failed', { reason: error.message }), 'error');
    }
  }
  if (auth.current()) await probeUnidentified();
  window.addEventListener('hashchange', render);
  await render();
}

start().catch((error) => replace(main, errorNode(error)));
