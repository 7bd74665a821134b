// The idle-logout warning (WCAG 2.2.1 Timing Adjustable) and signing out. The page's clock is
// Playwright's fake clock, so 28 minutes pass in an instant: two minutes before the 30-minute
// idle timeout the dialog opens with the focus on "Angemeldet bleiben"; staying signed in makes a
// request that counts as activity and starts the count again; left alone, the page goes to the
// sign-in page when the time is up. (The server's own timeout is tested with a manual clock in
// crates/portal/tests; here the server's clock is real.) Then "Abmelden" ends the session.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createAccount, signIn } from '../lib/account.js';
import { formatViolations, runAxe } from '../lib/axe.js';
import { newContext, saveFailureScreenshot } from '../lib/browser.js';
import { env } from '../lib/env.js';

const EMAIL = `idle-${Date.now()}@example.org`;

describe('idle-logout warning and signing out', { timeout: 90_000 }, () => {
  let context;
  let page;
  before(async () => {
    context = await newContext(env.browser, 'de');
    page = await context.newPage();
  });
  after(async () => {
    await context?.close();
  });

  it('warns before the end, stays signed in on request, ends on time, signs out', async () => {
    try {
      const portal = env.demo.portal;
      await createAccount(page, portal, env.demo.dataDir, EMAIL);
      await signIn(page, portal, EMAIL);

      await page.clock.install();
      await page.goto(`${portal}/account`);
      const dialog = page.locator('#session-warning');
      assert.equal(await dialog.getAttribute('data-idle-seconds'), '1800', 'the 30 minutes of the demo');
      assert.ok(!(await dialog.isVisible()), 'no warning yet');

      await page.clock.fastForward('27:59');
      assert.ok(!(await dialog.isVisible()), 'no warning before 28 minutes');
      await page.clock.fastForward('00:02');
      await dialog.waitFor({ state: 'visible' });
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'session-stay', 'the focus is on the button');
      const violations = await runAxe(page);
      assert.equal(violations.length, 0, `the warning: ${formatViolations(violations)}`);

      // Staying signed in is a request to the server, and the count starts again.
      const activity = page.waitForResponse((r) => r.url().endsWith('/api/v1/account') && r.status() === 200);
      await page.getByRole('button', { name: 'Angemeldet bleiben' }).click();
      await activity;
      await dialog.waitFor({ state: 'hidden' });
      await page.clock.fastForward('27:00');
      assert.ok(!(await dialog.isVisible()), 'the count started again');
      await page.clock.fastForward('01:01');
      await dialog.waitFor({ state: 'visible' });

      // Left alone, the page goes to the sign-in page when the 30 minutes are up.
      const ended = page.waitForRequest((r) => r.isNavigationRequest() && new URL(r.url()).pathname === '/account/sign-in');
      await page.clock.fastForward('02:00');
      await ended;
      await page.waitForLoadState('load');

      // Signing out ends the session on the server: the account page asks to sign in again.
      await page.goto(`${portal}/account`);
      await Promise.all([page.waitForURL(/\/account\/signed-out/), page.locator('form[action="/account/sign-out"] button').click()]);
      assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Sie sind abgemeldet');
      await page.goto(`${portal}/account`);
      assert.match(page.url(), /\/account\/sign-in/, 'signed out');
      assert.equal(await page.locator('#session-warning').count(), 0, 'no warning without a session');
    } catch (err) {
      const shot = await saveFailureScreenshot(page, 'session-timeout');
      err.message += `\nat ${page.url()}\nscreenshot: ${shot}`;
      throw err;
    }
  });
});
