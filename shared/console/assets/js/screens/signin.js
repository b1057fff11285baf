// Sign-in: the development form (tenant and role) in contactd, the identity provider's button,
// or a field for a pasted token.

import * as auth from '../auth.js';
import { field, h, replace } from '../dom.js';
import { t } from '../i18n.js';
import { errorNode } from '../widgets.js';

export async function render(main, { config, onSignedIn }) {
  const signIn = config.sign_in;
  const problem = h('div', { 'aria-live': 'assertive' });
  const returnTo = location.hash && !location.hash.startsWith('#/signin') ? location.hash : null;

  async function attempt(action) {
    replace(problem);
    try {
      await action();
      await onSignedIn(returnTo);
    } catch (error) {
      replace(problem, errorNode(error));
    }
  }

  let form;
  if (signIn.mode === 'development') {
    const tenant = h('input', { name: 'tenant', required: true, value: signIn.tenants[0] ?? '', list: 'tenants', autocomplete: 'off' });
    const role = h(
      'select',
      { name: 'role' },
      signIn.roles.map((name) => h('option', { value: name }, t(`role.${name}`))),
    );
    form = h(
      'form',
      {
        class: 'stack',
        onsubmit: (event) => {
          event.preventDefault();
          attempt(() => auth.signInDevelopment(signIn, tenant.value.trim(), role.value));
        },
      },
      h('p', { class: 'muted' }, t('signin.development_hint')),
      field(t('signin.tenant'), tenant),
      h('datalist', { id: 'tenants' }, signIn.tenants.map((name) => h('option', { value: name }))),
      field(t('signin.role'), role),
      h('button', { type: 'submit', class: 'primary' }, t('signin.submit')),
    );
  } else if (signIn.mode === 'oidc') {
    form = h(
      'div',
      { class: 'stack' },
      h('p', { class: 'muted' }, t('signin.oidc_hint')),
      h('button', { type: 'button', class: 'primary', onclick: () => attempt(() => auth.startOidc(signIn)) }, t('signin.oidc')),
    );
  } else {
    const token = h('textarea', { name: 'token', rows: 4, required: true, spellcheck: 'false', autocomplete: 'off' });
    form = h(
      'form',
      {
        class: 'stack',
        onsubmit: (event) => {
          event.preventDefault();
          attempt(async () => auth.signInWithToken(token.value));
        },
      },
      h('p', { class: 'muted' }, t('signin.token_hint')),
      field(t('signin.token'), token),
      h('button', { type: 'submit', class: 'primary' }, t('signin.submit')),
    );
  }
  replace(main, h('section', { class: 'signin card-panel' }, h('h1', {}, t('signin.title')), problem, form));
}
