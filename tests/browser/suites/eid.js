// Level `high` with the demo's TEST identity provider, in the browser and without JavaScript:
// the residence registration refuses a new account and links to the level page, the eID button
// leads to the test provider (the portal's Content-Security-Policy must let the form's redirect
// go there), Erika Mustermann is chosen, and the browser is back at the form, which now opens.
// The level page and the provider's page are checked with axe (WCAG 2.1 AA).

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { formatViolations, runAxe } from '../lib/axe.js';
import { newContext, saveFailureScreenshot } from '../lib/browser.js';
import { env } from '../lib/env.js';

const RESIDENCE_REGISTRATION = '99115005104000';
const EMAIL = `eid-${Date.now()}@example.org`;
const PASSWORD = 'Ein langer Satz als Passwort';

/** The confirmation link of the newest confirm mail to `email`, decoded from quoted-printable. */
function confirmLink(dataDir, email) {
  const dir = path.join(dataDir, 'mail');
  const files = readdirSync(dir).filter((f) => f.endsWith('-confirm.eml')).sort().reverse();
  for (const file of files) {
    const raw = readFileSync(path.join(dir, file), 'utf8')
      .replace(/=\r?\n/g, '')
      .replace(/=3D/g, '=');
    if (!raw.includes(email)) continue;
    const m = /(https?:\/\/[^\s"<>]+\/account\/confirm\?token=[A-Za-z0-9_-]+)/.exec(raw);
    if (m) return m[1];
  }
  throw new Error(`no confirmation mail to ${email} yet`);
}

async function expectAccessible(page, what) {
  const violations = await runAxe(page);
  assert.equal(violations.length, 0, `${what}: ${formatViolations(violations)}`);
}

async function signIn(page, portal) {
  await page.goto(`${portal}/account/sign-in`);
  await page.locator('#email').fill(EMAIL);
  await page.locator('#password').fill(PASSWORD);
  await Promise.all([page.waitForURL(/\/account$/), page.locator('form.account-form button[type="submit"]').click()]);
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
      await page.goto(`${portal}/account/register`);
      await page.locator('#email').fill(EMAIL);
      await page.locator('#password').fill(PASSWORD);
      await Promise.all([page.waitForLoadState('load'), page.locator('form.account-form button[type="submit"]').click()]);
      let link;
      for (let i = 0; i < 50 && !link; i++) {
        try {
          link = confirmLink(env.demo.dataDir, EMAIL);
        } catch {
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      assert.ok(link, 'confirmation mail');
      await page.goto(link.replace(/^https?:\/\/[^/]+/, portal));
      await Promise.all([page.waitForLoadState('load'), page.locator('main form button[type="submit"]').click()]);
      await signIn(page, portal);

      // The form needs level high and says where to raise it.
      const gate = await page.goto(`${portal}/services/${RESIDENCE_REGISTRATION}/form`);
      assert.equal(gate.status(), 403);
      await Promise.all([page.waitForURL(/\/account\/level\?return_to=/), page.getByRole('link', { name: 'Vertrauensniveau jetzt erhöhen' }).click()]);
      assert.ok((await page.locator('#account-level').innerText()).includes('Basis'));

      // The level page and the provider's page, checked with axe in the second context.
      await signIn(check, portal);
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
      await signIn(check, portal);
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
