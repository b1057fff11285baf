// Debian's headless Chromium driven by playwright-core (no browser download), with what every
// scenario needs: a fresh profile, screenshots, a condition wait, and the page's errors.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

/** Opens a page; `SCREENSHOTS` and `CHROMIUM` come from the environment. */
export async function launch() {
  const { SCREENSHOTS, CHROMIUM } = process.env;
  assert.ok(SCREENSHOTS && CHROMIUM, 'SCREENSHOTS and CHROMIUM are required');
  mkdirSync(SCREENSHOTS, { recursive: true });
  const profile = mkdtempSync(join(tmpdir(), 'console-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1366, height: 768 },
    locale: 'cs-CZ',
    timezoneId: 'Europe/Prague',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  // Generous: CI runs these beside the rest of the suite on two cores.
  context.setDefaultTimeout(30_000);
  const page = context.pages()[0] ?? (await context.newPage());

  // Script errors and console errors (a missing label is one) fail the run; a failed request
  // is an API's answer, which the page shows itself.
  const problems = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) problems.push(`console: ${message.text()}`);
  });

  const shots = [];
  return {
    page,
    problems,
    shots,
    async screenshot(name) {
      const path = join(SCREENSHOTS, `${name}.png`);
      await page.screenshot({ path, fullPage: true });
      shots.push(path);
    },
    /** Runs `scenario`; on failure saves `<name>-failure.png` and exits non-zero. */
    async run(name, scenario) {
      try {
        await scenario();
        assert.deepEqual(problems, [], 'errors in the page');
        for (const shot of shots) console.log(`screenshot: ${shot}`);
        console.log(`${name} passed (${shots.length} screenshots)`);
      } catch (error) {
        await page.screenshot({ path: join(SCREENSHOTS, `${name.replace(/\W+/g, '-')}-failure.png`), fullPage: true }).catch(() => {});
        console.error(`${name} failed at ${page.url()}: ${error.stack ?? error}`);
        if (problems.length) console.error(problems.join('\n'));
        process.exitCode = 1;
      } finally {
        await context.close();
        rmSync(profile, { recursive: true, force: true });
      }
    },
  };
}

/** Polls `probe` until it returns a truthy value, for at most `timeout` ms. */
export async function until(page, what, probe, timeout = 60_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await probe().catch(() => null);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await page.waitForTimeout(200);
  }
}

/** Every visible form control has an accessible name (a label, aria-label or aria-labelledby). */
export async function everyControlIsLabelled(page, screen) {
  const unlabelled = await page.evaluate(() =>
    [...document.querySelectorAll('input, select, textarea')]
      .filter((control) => control.type !== 'hidden' && control.offsetParent !== null)
      .filter((control) => !control.labels?.length && !control.getAttribute('aria-label') && !control.getAttribute('aria-labelledby'))
      .map((control) => control.outerHTML.slice(0, 120)),
  );
  assert.deepEqual(unlabelled, [], `${screen}: controls without a label`);
}
