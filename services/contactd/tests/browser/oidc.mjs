// OpenID Connect sign-in in Debian's headless Chromium: the console fetches the provider's
// discovery document, sends the browser to its authorization endpoint with a PKCE challenge,
// exchanges the code it gets back for an access token and calls the APIs with it. Started by
// services/contactd/tests/console_oidc.rs against a test identity provider.
//
// Environment: CONSOLE_URL, CONTACT_NAME (a contact the directory must list), SCREENSHOTS, CHROMIUM.

import assert from 'node:assert/strict';
import { launch } from './browser.mjs';

const { CONSOLE_URL, CONTACT_NAME } = process.env;
assert.ok(CONSOLE_URL && CONTACT_NAME, 'CONSOLE_URL and CONTACT_NAME are required');

const { page, screenshot, run } = await launch();

await run('OpenID Connect sign-in', async () => {
  await page.goto(`${CONSOLE_URL}#/settings`);
  await page.getByRole('heading', { name: 'Přihlášení' }).waitFor();
  await screenshot('00-sign-in-oidc');
  await page.getByRole('button', { name: 'Přihlásit přes poskytovatele identity' }).click();
  // Back from the provider: the token is kept, the code is gone from the address, and the
  // screen asked for before signing in is shown.
  await page.getByRole('heading', { name: 'Nastavení → Parametry' }).waitFor();
  await page.locator('#user').getByText('acme · operátor').waitFor();
  assert.ok(!page.url().includes('code='), `the code stays out of the address: ${page.url()}`);
  const session = await page.evaluate(() => JSON.parse(sessionStorage.getItem('console.session')));
  assert.equal(session.token.split('.').length, 3, 'a JWT is kept for this tab');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('console.oidc')), null, 'the PKCE verifier is gone');
  // The APIs accept the provider's token.
  await page.getByRole('link', { name: 'Adresář' }).click();
  await page.locator('main').getByRole('link', { name: CONTACT_NAME }).waitFor();
});
