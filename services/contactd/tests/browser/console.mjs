// An operator's hour in the console, in Debian's headless Chromium (driven by playwright-core;
// no browser download). Started by services/contactd/tests/console.rs against contactd's console
// port with the demo data; exits non-zero on the first failed step or on any script error or
// missing label in the page.
//
// Environment: CONSOLE_URL (…/console/), SESSION_INTERACTION (a VK interaction to link),
// SCREENSHOTS (folder), CHROMIUM (the browser binary); see browser.mjs.

import assert from 'node:assert/strict';
import { everyControlIsLabelled as labelled, launch, until as waitUntil } from './browser.mjs';

const { CONSOLE_URL, SESSION_INTERACTION } = process.env;
assert.ok(CONSOLE_URL && SESSION_INTERACTION, 'CONSOLE_URL and SESSION_INTERACTION are required');

const { page, screenshot, run } = await launch();
const until = (what, probe, timeout) => waitUntil(page, what, probe, timeout);
const everyControlIsLabelled = (screen) => labelled(page, screen);

const status = () => page.locator('#status');
const main = page.locator('main');

async function signIn(role) {
  await page.goto(CONSOLE_URL);
  await page.getByRole('heading', { name: 'Přihlášení' }).waitFor();
  await page.getByLabel('Tenant').fill('acme');
  await page.getByLabel('Role').selectOption(role);
}

await run('console scenario', async () => {
  // Sign in (development sign-in: contactd mints the token).
  await signIn('operator');
  await everyControlIsLabelled('sign-in');
  await screenshot('01-sign-in');
  await page.getByRole('button', { name: 'Přihlásit' }).click();

  // Directory: sorted by name, keyset pages of three ("load more"), a channel filter.
  await page.getByRole('heading', { name: 'Adresář kontaktů' }).waitFor();
  const rows = main.locator('tbody tr');
  const names = () => main.locator('tbody th').allInnerTexts();
  await page.getByLabel('Řazení').selectOption('name');
  await until('the first page by name', async () => (await names()).join('|') === 'Jana Dvořáková|M. Černá|Marie Černá');
  await main.getByRole('button', { name: 'Načíst další' }).click();
  await until('the second page', async () => (await rows.count()) === 6);
  await main.getByRole('button', { name: 'Načíst další' }).click();
  await until('the last page', async () => (await rows.count()) === 7);
  assert.equal(await main.getByRole('button', { name: 'Načíst další' }).count(), 0, 'no page after the last');
  assert.deepEqual((await names()).slice(3), ['Petr Svoboda', '(bez jména)', '(bez jména)', '(bez jména)'], 'unnamed last');
  await page.getByText('Filtry', { exact: true }).click();
  await page.getByLabel('Kanál').selectOption('vk');
  await until('the VK contact alone', async () => (await rows.count()) === 1 && (await rows.first().getByRole('img', { name: 'VK' }).count()) === 1);
  await page.getByRole('button', { name: 'Zrušit filtry' }).click();
  await until('every contact again', async () => (await rows.count()) === 3);

  // A search without diacritics finds Jana Dvořáková.
  await page.getByLabel('Hledat jméno, e-mail, telefon nebo identifikátor').fill('dvorakova');
  const jana = main.getByRole('link', { name: 'Jana Dvořáková', exact: true });
  await jana.waitFor();
  await until('one search result', async () => (await main.locator('tbody tr').count()) === 1);
  assert.match(page.url(), /q=dvorakova/, 'the search is in the address');
  await everyControlIsLabelled('directory');
  await screenshot('02-directory');

  // The card, opened with the keyboard.
  await jana.focus();
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Jana Dvořáková', level: 1 }).waitFor();
  const contactId = await page.getByLabel('ID kontaktu').inputValue();
  assert.match(contactId, /^[0-9a-f-]{36}$/);
  await everyControlIsLabelled('card');
  await screenshot('03-contact-card');

  // Her work e-mail, proposed by a web chat form, is confirmed from the card.
  const proposals = page.locator('section.proposals');
  await proposals.getByText('jana.dvorakova@prace-firma.cz').waitFor();
  await proposals.getByRole('button', { name: 'Potvrdit jana.dvorakova@prace-firma.cz' }).click();
  await status().getByText('jana.dvorakova@prace-firma.cz potvrzeno.').waitFor();
  await until('the confirmed e-mail among her e-mails', async () =>
    (await page.locator('input[data-kind="email"]').evaluateAll((inputs) => inputs.map((input) => input.value))).includes('jana.dvorakova@prace-firma.cz'),
  );
  assert.equal(await proposals.count(), 0, 'no proposal left');

  // Rename and add a phone ("+ add another"), then Save.
  await page.getByLabel('Jméno', { exact: true }).fill('Jana Dvořáková Malá');
  await page.getByRole('button', { name: '+ Přidat další telefon' }).click();
  await page.locator('input[data-kind="phone"]').last().fill('605 123 456');
  await page.getByRole('button', { name: 'Uložit' }).click();
  await status().getByText('Uloženo.').waitFor();
  await page.getByRole('heading', { name: 'Jana Dvořáková Malá', level: 1 }).waitFor();
  const phones = await page.locator('input[data-kind="phone"]').evaluateAll((inputs) => inputs.map((input) => input.value));
  assert.ok(phones.includes('+420605123456'), `the new phone is stored in E.164: ${phones}`);

  // History: both changes appear between the interactions (they travel through Kafka).
  await page.getByRole('link', { name: 'Historie' }).click();
  const search = page.getByRole('button', { name: 'Hledat' });
  const timeline = page.locator('ol.timeline');
  await until('the rename and the new phone in the history', async () => {
    await search.click();
    await timeline.locator('li').first().waitFor();
    const text = await timeline.innerText();
    return text.includes('Změna jména') && text.includes('Jana Dvořáková Malá') && text.includes('+420605123456');
  });
  // Infinite scroll: scrolling down loads the older pages until there are no more.
  const more = page.locator('.more');
  const scrollToTheEnd = (what) =>
    until(what, async () => {
      await page.mouse.wheel(0, 4000);
      return (await more.innerText()) === '' && (await timeline.locator('li.item').count()) > 3;
    });
  await scrollToTheEnd('the whole history, by scrolling');
  for (const channel of ['WhatsApp', 'Webový chat', 'Telefon', 'E-mail']) {
    await timeline.getByRole('img', { name: channel }).first().waitFor();
  }
  await everyControlIsLabelled('history');
  await screenshot('04-history');

  // Full-text search without diacritics, matches highlighted.
  await page.getByLabel('Hledat v historii').fill('objednavky');
  await search.click();
  await timeline.locator('.snippet mark').first().waitFor();
  const marked = await timeline.locator('.snippet mark').allInnerTexts();
  assert.ok(marked.some((text) => text.toLowerCase() === 'objednávky'), `highlighted: ${marked}`);
  assert.match(page.url(), /history\?q=objednavky/);

  // A customer's message with markup is shown as text: no element, no script.
  await page.getByLabel('Hledat v historii').fill('reklamace');
  await search.click();
  const hostile = timeline.locator('.snippet').filter({ hasText: '<img src=x' });
  await hostile.waitFor();
  assert.equal(await timeline.locator('.snippet img, .snippet script, .snippet b').count(), 0, 'markup from a customer became elements');
  assert.equal(await page.evaluate(() => window.pwned), undefined, 'a customer script ran');
  await screenshot('05-history-search');

  // Transcripts with their details: the call (duration, status, recording) and the e-mail.
  await page.getByLabel('Hledat v historii').fill('');
  await page.getByLabel('Typ', { exact: true }).selectOption('interaction');
  await timeline.locator('li.item').nth(2).waitFor();
  await scrollToTheEnd('every interaction, by scrolling');
  const call = timeline.getByRole('button', { name: /Hovor · uskutečněný · 2:00/ });
  await call.click();
  assert.equal(await call.getAttribute('aria-expanded'), 'true');
  const recording = timeline.getByRole('link', { name: 'Přehrát nahrávku' });
  assert.match(await recording.getAttribute('href'), /^https:\/\/pbx\.acme\.cz\/recordings\/2024\/03\/14\//);
  await timeline.getByText('Délka').waitFor();
  const mail = timeline.getByRole('button', { name: /Dotaz na objednávku/ });
  await mail.click();
  await timeline.locator('.transcript .text').filter({ hasText: 'prosím o informaci' }).waitFor();
  await timeline.getByText('Předmět').waitFor();
  await call.scrollIntoViewIfNeeded();
  await screenshot('06-transcript');

  // Session panel: link the VK conversation to an existing contact (search, then choose).
  await page.goto(`${CONSOLE_URL}#/session/${SESSION_INTERACTION}`);
  await page.getByRole('heading', { name: /Relace: VK/ }).waitFor();
  await page.getByRole('button', { name: 'Vybrat existující' }).click();
  await page.getByLabel('Najděte kontakt').fill('svoboda');
  await page.getByRole('button', { name: 'Propojit: Petr Svoboda' }).click();
  await status().getByText('Konverzace propojena s kontaktem Petr Svoboda.').waitFor();
  const panel = page.locator('.session-contact');
  await panel.getByText('Petr Svoboda', { exact: true }).waitFor();
  await panel.getByText(/Konverzaci propojil/).waitFor();
  await panel.getByRole('link', { name: 'Otevřít v adresáři' }).waitFor();
  await everyControlIsLabelled('session');
  await screenshot('07-session');

  // Add a detail to the session's contact, remove it again.
  await panel.getByRole('button', { name: 'Přidat údaj' }).click();
  await panel.getByLabel('Druh údaje').selectOption('phone');
  await panel.getByLabel('Hodnota').fill('606 222 333');
  await panel.getByRole('button', { name: 'Přidat', exact: true }).click();
  await status().getByText('Údaj 606 222 333 přidán.').waitFor();
  await panel.getByRole('button', { name: 'Odebrat +420606222333' }).click();
  await status().getByText('Údaj +420606222333 odebrán.').waitFor();
  await panel.getByText('+420606222333').waitFor({ state: 'detached' });

  // Unlink, then add a new contact for the conversation instead.
  await panel.getByRole('button', { name: 'Odpojit' }).click();
  await status().getByText('Konverzace odpojena.').waitFor();
  await panel.getByText('Přiřazeno automaticky podle identifikátorů.').waitFor();
  await panel.getByText('(bez jména)').waitFor();
  await panel.getByRole('button', { name: 'Přidat kontakt' }).click();
  await panel.getByLabel('Jméno').fill('Pavel Svoboda');
  await panel.getByLabel('E-mail').fill('pavel.svoboda@posta-cz.cz');
  await panel.getByRole('button', { name: 'Vytvořit a propojit' }).click();
  await status().getByText('Kontakt vytvořen a konverzace propojena.').waitFor();
  await panel.getByText('Pavel Svoboda', { exact: true }).waitFor();
  await panel.getByText('pavel.svoboda@posta-cz.cz').waitFor();

  // Unidentified conversations: the anonymous web chat is linked to Jana (search, then choose),
  // and leaves the list.
  await page.getByRole('link', { name: 'Neidentifikované konverzace' }).click();
  await page.getByRole('heading', { name: 'Neidentifikované konverzace' }).waitFor();
  const anonymous = main.locator('tbody tr').filter({ hasText: 'nepřišla mi zpráva o doručení myčky' });
  await anonymous.waitFor();
  await everyControlIsLabelled('unidentified conversations');
  await screenshot('08-unidentified');
  await anonymous.getByRole('link').click();
  await page.getByRole('heading', { name: /Relace: Webový chat/ }).waitFor();
  await panel.getByText('Konverzace zatím nepatří žádnému kontaktu.').waitFor();
  await page.getByRole('button', { name: 'Vybrat existující' }).click();
  await page.getByLabel('Najděte kontakt').fill('dvorakova');
  await page.getByRole('button', { name: 'Propojit: Jana Dvořáková Malá' }).click();
  await status().getByText('Konverzace propojena s kontaktem Jana Dvořáková Malá.').waitFor();
  await panel.getByText('Jana Dvořáková Malá', { exact: true }).waitFor();
  // The timeline learns of the link from contacts.changes: reload the list until it has.
  await page.getByRole('link', { name: 'Neidentifikované konverzace' }).click();
  await until('the list without the linked conversation', async () => {
    await page.reload();
    await page.getByRole('heading', { name: 'Neidentifikované konverzace' }).waitFor();
    // Loaded: a row, or the sentence an empty list shows (each probe returns at once either way).
    const nothing = main.getByText('Žádné neidentifikované konverzace.');
    await main.locator('tbody tr').or(nothing).first().waitFor();
    return (await nothing.count()) === 1;
  });

  // The duplicates queue shows the two Maries.
  await page.getByRole('link', { name: 'Duplicity' }).click();
  await page.getByRole('heading', { name: 'Možné duplicity' }).waitFor();
  await main.getByText('Sdílí Telefon: +420603111222').waitFor();
  await screenshot('09-duplicates');
  await main.getByRole('button', { name: 'Zamítnout' }).click();
  await status().getByText(/Návrh zamítnut/).waitFor();
  await main.getByText('Žádné návrhy.').waitFor();

  // Merge: search → preview with the name to keep → merge; then unmerge from the history.
  await page.getByRole('link', { name: 'Adresář', exact: true }).click();
  await page.getByLabel('Hledat jméno, e-mail, telefon nebo identifikátor').fill('marie');
  await main.getByRole('link', { name: 'Marie Černá', exact: true }).click();
  await page.getByRole('heading', { name: 'Marie Černá', level: 1 }).waitFor();
  await page.getByRole('button', { name: 'Sloučit s…' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Najděte druhý kontakt').fill('cerna');
  await dialog.getByRole('button', { name: 'Vybrat: M. Černá' }).click();
  await dialog.getByRole('group', { name: 'Které jméno ponechat' }).waitFor();
  await dialog.getByText('Přejde identifikátorů: 1').waitFor();
  await dialog.getByRole('radio', { name: /M\. Černá/ }).check();
  await everyControlIsLabelled('merge preview');
  await screenshot('10-merge-preview');
  await dialog.getByRole('button', { name: 'Sloučit', exact: true }).click();
  await status().getByText('Kontakt M. Černá byl připojen.').waitFor();
  await page.getByRole('heading', { name: 'M. Černá', level: 1 }).waitFor();
  const merged = await page.locator('input[data-kind="phone"]').evaluateAll((inputs) => inputs.map((input) => input.value));
  assert.deepEqual(merged, ['+420603111222'], 'the merged contact’s phone moved here');
  const history = page.locator('section.merges');
  await history.getByText('Připojen kontakt').waitFor();
  await screenshot('11-merge-history');
  await history.getByRole('button', { name: 'Zrušit sloučení' }).click();
  await status().getByText(/Sloučení zrušeno/).waitFor();
  await page.getByRole('heading', { name: 'Marie Černá', level: 1 }).waitFor();
  await history.getByText(/Rozděleno/).waitFor();
  assert.equal(await page.locator('input[data-kind="phone"]').count(), 0, 'the phone went back with the restored contact');

  // Delete, confirmed in a dialog (cancelling first keeps the contact).
  await page.getByRole('link', { name: 'Adresář', exact: true }).click();
  await page.getByLabel('Hledat jméno, e-mail, telefon nebo identifikátor').fill('6254981234567890');
  await until('the Messenger contact alone', async () => (await main.locator('tbody tr').count()) === 1 && (await main.locator('tbody').getByRole('img', { name: 'Messenger' }).count()) === 1);
  await main.locator('tbody').getByRole('link').click();
  await page.getByRole('heading', { name: '(bez jména)', level: 1 }).waitFor();
  await page.getByRole('button', { name: 'Smazat' }).click();
  await page.getByRole('dialog', { name: 'Smazat kontakt' }).getByRole('button', { name: 'Zrušit' }).click();
  await page.getByRole('button', { name: 'Smazat' }).click();
  await page.getByRole('dialog', { name: 'Smazat kontakt' }).getByRole('button', { name: 'Smazat' }).click();
  await status().getByText('Kontakt (bez jména) byl smazán.').waitFor();
  await page.getByRole('heading', { name: 'Adresář kontaktů' }).waitFor();

  // Settings → Parameters as an admin: definitions and blocked values.
  await page.getByRole('button', { name: 'Odhlásit' }).click();
  await signIn('admin');
  await page.getByRole('button', { name: 'Přihlásit' }).click();
  await page.getByRole('link', { name: 'Nastavení' }).click();
  await page.getByRole('heading', { name: 'Nastavení → Parametry' }).waitFor();
  assert.equal(await page.getByLabel('Popisek parametru crm_customer_no').inputValue(), 'Číslo zákazníka v CRM');
  assert.equal(await page.getByLabel('crm_customer_no identifikuje klienta').isChecked(), true);
  assert.equal(await page.getByLabel('order_no identifikuje klienta').isChecked(), false);
  await main.getByText('*@acme.cz', { exact: true }).waitFor();
  await page.getByLabel('Hodnota nebo vzor').fill('+420222333444');
  await page.getByLabel('Druh', { exact: true }).selectOption('phone');
  await page.getByLabel('Důvod').selectOption('own');
  await page.getByRole('button', { name: 'Blokovat' }).click();
  await status().getByText('Hodnota +420222333444 zablokována.').waitFor();
  await main.getByText('+420222333444', { exact: true }).waitFor();
  await everyControlIsLabelled('settings');
  await screenshot('12-settings');

  // English labels.
  await page.getByRole('button', { name: 'English' }).click();
  await page.getByRole('heading', { name: 'Settings → Parameters' }).waitFor();
  await page.getByRole('link', { name: 'Directory' }).click();
  await page.getByRole('heading', { name: 'Contact directory' }).waitFor();
  await screenshot('13-directory-english');
});
