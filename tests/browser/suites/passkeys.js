// Passkeys in a real browser: Chromium's virtual authenticator (DevTools protocol, WebAuthn
// domain: CTAP2, built in, resident keys, user verification) stands in for the fingerprint
// reader. A citizen adds a passkey with a name and the password, signs out, and signs in again
// with the passkey alone. A cancelled ceremony shows its alert and can be tried again. Every
// page on the way is checked with axe (WCAG 2.1 AA). The demo's public URL is
// http://localhost:PORT: browsers offer passkeys only to a site with a domain name.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PASSWORD, createAccount, signIn } from '../lib/account.js';
import { formatViolations, runAxe } from '../lib/axe.js';
import { newContext, saveFailureScreenshot } from '../lib/browser.js';
import { env } from '../lib/env.js';

const EMAIL = `passkey-${Date.now()}@example.org`;

async function expectAccessible(page, what) {
  const violations = await runAxe(page);
  assert.equal(violations.length, 0, `${what}: ${formatViolations(violations)}`);
}

/** A virtual platform authenticator for the page's browser context. */
async function virtualAuthenticator(context, page) {
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return { cdp, authenticatorId };
}

describe('passkeys', { timeout: 120_000 }, () => {
  let context;
  let page;
  before(async () => {
    context = await newContext(env.browser, 'de');
    page = await context.newPage();
  });
  after(async () => {
    await context?.close();
  });

  it('adds a passkey and signs in with it alone', async () => {
    try {
      const portal = env.demo.portal;
      assert.match(portal, /^http:\/\/localhost:/, 'the demo is served as localhost');
      const { cdp, authenticatorId } = await virtualAuthenticator(context, page);
      await createAccount(page, portal, env.demo.dataDir, EMAIL);
      await signIn(page, portal, EMAIL);

      await page.goto(`${portal}/account/security`);
      assert.ok(await page.locator('#passkey-add').isVisible(), 'the script shows the form');
      assert.ok(!(await page.locator('#passkey-needs-support').isVisible()));
      await expectAccessible(page, 'security page without passkeys');

      // A cancelled ceremony (the person closes the browser's dialog): the alert, and the
      // button on the same page tries again with the real authenticator.
      await context.addInitScript(() => {
        if (sessionStorage.getItem('cancelled-once')) return;
        sessionStorage.setItem('cancelled-once', '1');
        const real = navigator.credentials.create.bind(navigator.credentials);
        let first = true;
        navigator.credentials.create = (options) => {
          if (!first) return real(options);
          first = false;
          return Promise.reject(new DOMException('cancelled', 'NotAllowedError'));
        };
      });
      await page.getByLabel('Name des Passkeys').fill('Laptop');
      await page.locator('#passkey-password').fill(PASSWORD);
      await Promise.all([page.waitForURL(/\/account\/security\/passkeys$/), page.getByRole('button', { name: 'Weiter' }).click()]);
      await page.locator('#passkey-cancelled').waitFor({ state: 'visible' });
      await expectAccessible(page, 'ceremony page after a cancel');
      await Promise.all([
        page.waitForURL(/\/account\/security\?passkey=added$/),
        page.getByRole('button', { name: 'Passkey erstellen' }).click(),
      ]);
      assert.ok((await page.locator('#passkey-list').innerText()).includes('Laptop'));
      await expectAccessible(page, 'security page with a passkey');
      const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
      assert.equal(credentials.length, 1, 'one credential on the authenticator');
      assert.ok(credentials[0].isResidentCredential, 'a discoverable credential');

      // Signed out, the sign-in page offers the passkey; it signs in without an address.
      await context.clearCookies();
      await page.goto(`${portal}/account/sign-in`);
      assert.ok(await page.locator('#passkey-sign-in').isVisible());
      await expectAccessible(page, 'sign-in page with the passkey button');
      await Promise.all([
        page.waitForURL(/\/account$/),
        page.getByRole('button', { name: 'Mit Passkey anmelden' }).click(),
      ]);
      assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Mein Konto');
      await page.goto(`${portal}/account/security`);
      const row = await page.locator('#passkey-list tbody tr').innerText();
      assert.ok(!row.includes('noch nie'), `the list shows when it was last used: ${row}`);
    } catch (err) {
      const shot = await saveFailureScreenshot(page, 'passkeys');
      err.message += `\nat ${page.url()}\nscreenshot: ${shot}`;
      throw err;
    }
  });
});
