// Level `high` with the demo's TEST identity provider, in the browser and without JavaScript:
// the residence registration refuses a new account and links to the level page, the eID button
// leads to the test provider (the portal's Content-Security-Policy must let the form's redirect
// go there), Erika Mustermann is chosen, and the browser is back at the form, which now opens.
// The level page and the provider's page are checked with axe (WCAG 2.1 AA).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createAccount, signIn } from '../lib/account.js';
import { formatViolations, runAxe } from '../lib/axe.js';
import { newContext, saveFailureScreenshot } from '../lib/browser.js';
import { env } from '../lib/env.js';

const RESIDENCE_REGISTRATION = '99115005104000';
const EMAIL = `eid-${Date.now()}@example.org`;

async function expectAccessible(page, what) {
  const violations = await runAxe(page);
  assert.equal(violations.length, 0, `${what}: ${formatViolations(violations)}`);
}

describe('assurance level high with the test eID provider', { timeout: 120_000 }, () => {
  // The journey runs without JavaScript; axe needs it, so the pages are checked in a second
  // context of the same account.
  let context;
  let page;
  let checker;
  let check;
  before(async () => {
    context = await newContext(env.browser, 'de', { javaScriptEnabled: false });
    page = await context.newPage();
    checker = await newContext(env.browser, 'de');
    check = await checker.newPage();
  });
  after(async () => {
    await context?.close();
    await checker?.close();
  });

  it('raises the level and returns to the residence registration', async () => {
    try {
      const portal = env.demo.portal;
      await createAccount(page, portal, env.demo.dataDir, EMAIL);
      await signIn(page, portal, EMAIL);

      // The form needs level high and says where to raise it.
      const gate = await page.goto(`${portal}/services/${RESIDENCE_REGISTRATION}/form`);
      assert.equal(gate.status(), 403);
      await Promise.all([page.waitForURL(/\/account\/level\?return_to=/), page.getByRole('link', { name: 'Vertrauensniveau jetzt erhöhen' }).click()]);
      assert.ok((await page.locator('#account-level').innerText()).includes('Basis'));

      // The level page and the provider's page, checked with axe in the second context.
      await signIn(check, portal, EMAIL);
      await check.goto(page.url());
      await expectAccessible(check, 'level page');
      await Promise.all([
        check.waitForURL(/\/authorize\?/),
        check.getByRole('button', { name: 'Mit dem Online-Ausweis anmelden (eID)' }).click(),
      ]);
      await expectAccessible(check, 'test provider page');

      // Off to the test provider: the redirect after the form must not be blocked by the CSP.
      await Promise.all([
        page.waitForURL(/\/authorize\?/),
        page.getByRole('button', { name: 'Mit dem Online-Ausweis anmelden (eID)' }).click(),
      ]);
      assert.ok((await page.locator('body').innerText()).includes('TEST identity provider — not a real eID'));
      await Promise.all([
        page.waitForURL(new RegExp(`/services/${RESIDENCE_REGISTRATION}/form/`)),
        page.getByRole('button', { name: /^Als Erika Mustermann anmelden/ }).click(),
      ]);
      assert.match(await page.locator('h1').innerText(), /\S/);
      await page.goto(`${portal}/account/level`);
      assert.ok((await page.locator('#account-level').innerText()).includes('Hoch'));

      // A later sign-in with the password keeps the checked identity (substantial); `high`
      // needs the card again (A7). That page is accessible too.
      await checker.clearCookies();
      await signIn(check, portal, EMAIL);
      await check.goto(`${portal}/account/level`);
      assert.ok((await check.locator('#account-level').innerText()).includes('Substanziell'));
      await expectAccessible(check, 'level page after a password sign-in');
    } catch (err) {
      const shot = await saveFailureScreenshot(page, 'eid-level-high');
      err.message += `\nat ${page.url()}\nscreenshot: ${shot}`;
      throw err;
    }
  });
});
