// Signing in: a development token from contactd, an OpenID Connect authorization code flow with
// PKCE (RFC 7636) against the configured issuer, or a pasted token. The token lives in this
// tab's sessionStorage only: it leaves with the tab and is never in a cookie.

const SESSION = 'console.session';
const PENDING = 'console.oidc';

/** The claims of a JWT, for showing who is signed in (the APIs verify the token, not this). */
export function claims(token) {
  try {
    const payload = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const json = new TextDecoder().decode(Uint8Array.from(atob(payload), (c) => c.charCodeAt(0)));
    return JSON.parse(json);
  } catch {
    return {};
  }
}

/** The signed-in session `{token, claims}`, or null when none or expired. */
export function current() {
  const saved = sessionStorage.getItem(SESSION);
  if (!saved) return null;
  const token = JSON.parse(saved).token;
  const tokenClaims = claims(token);
  if (typeof tokenClaims.exp === 'number' && tokenClaims.exp * 1000 <= Date.now()) {
    signOut();
    return null;
  }
  return { token, claims: tokenClaims };
}

function keep(token) {
  sessionStorage.setItem(SESSION, JSON.stringify({ token }));
}

export function signOut() {
  sessionStorage.removeItem(SESSION);
}

/** Development sign-in: contactd mints a token for the tenant and role. */
export async function signInDevelopment(signIn, tenant, role) {
  const response = await fetch(signIn.token_path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ tenant, role }),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.detail || `HTTP ${response.status}`);
  keep(body.token);
}

/** A pasted bearer token (no identity provider configured). */
export function signInWithToken(token) {
  const trimmed = token.trim().replace(/^Bearer\s+/i, '');
  if (trimmed.split('.').length !== 3) throw new Error('not a JWT');
  keep(trimmed);
}

function base64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function random() {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

function redirectUri() {
  return `${location.origin}/console/`;
}

async function discovery(issuer) {
  const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  const response = await fetch(url, { headers: { accept: 'application/json' }, credentials: 'omit' });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

/** Starts the OpenID Connect sign-in: remembers the PKCE verifier and goes to the provider. */
export async function startOidc(oidc) {
  const provider = await discovery(oidc.issuer);
  const verifier = random();
  const state = random();
  const challenge = base64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  sessionStorage.setItem(
    PENDING,
    JSON.stringify({ verifier, state, tokenEndpoint: provider.token_endpoint, returnTo: location.hash }),
  );
  const params = new URLSearchParams({
    response_type: 'code',
    client_id: oidc.client_id,
    redirect_uri: redirectUri(),
    scope: oidc.scopes,
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  if (oidc.audience) params.set('audience', oidc.audience);
  location.assign(`${provider.authorization_endpoint}?${params}`);
  // The page is leaving for the provider: nothing may run after this (a route change would
  // cancel the navigation).
  return new Promise(() => {});
}

/**
 * Completes the sign-in when the provider sent the browser back with `?code=&state=`: checks
 * the state, exchanges the code with the verifier, keeps the access token, and removes the
 * query from the address bar. Returns the hash to go on to, or null when this is no callback.
 */
export async function completeOidc(oidc) {
  const params = new URLSearchParams(location.search);
  if (!params.has('code') && !params.has('error')) return null;
  const pending = JSON.parse(sessionStorage.getItem(PENDING) || 'null');
  sessionStorage.removeItem(PENDING);
  history.replaceState(null, '', `${location.pathname}${pending?.returnTo || ''}`);
  if (params.has('error')) throw new Error(params.get('error_description') || params.get('error'));
  if (!pending || pending.state !== params.get('state')) throw new Error('state mismatch');
  const response = await fetch(pending.tokenEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    credentials: 'omit',
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: params.get('code'),
      redirect_uri: redirectUri(),
      client_id: oidc.client_id,
      code_verifier: pending.verifier,
    }),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok || !body.access_token) throw new Error(body.error_description || body.error || `HTTP ${response.status}`);
  keep(body.access_token);
  return pending.returnTo || '#/contacts';
}
