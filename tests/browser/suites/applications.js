// An online application end to end in the browser, without JavaScript: register, confirm the
// address from the demo's mail folder, sign in, fill in the dog registration (a flagship
// service at level `basic`) step by step, review, submit, download the receipt, and see the
// application delivered to the authority node. Every signed-in page on the way is checked
// with axe (WCAG 2.1 AA).

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { expectAccessible } from '../lib/accessible.js';
import { createAccount, signIn } from '../lib/account.js';
import { formatViolations, runAxe } from '../lib/axe.js';
import { ARTIFACTS, newContext, saveFailureScreenshot } from '../lib/browser.js';
import { answerDogRegistration, startDogRegistration, submitApplication } from '../lib/dog.js';
import { env } from '../lib/env.js';

const EMAIL = `hund-${Date.now()}@example.org`;

describe('online application: dog registration', { timeout: 120_000 }, () => {
  let context;
  let page;
  before(async () => {
    context = await newContext(env.browser, 'de', { javaScriptEnabled: false });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
  });
  after(async () => {
    await context?.close();
  });

  it('is completed, delivered and confirmed with a receipt', async () => {
    try {
      const portal = env.demo.portal;
      await createAccount(page, portal, env.demo.dataDir, EMAIL);
      await signIn(page, portal, EMAIL);

      await startDogRegistration(page, portal);

      // A missing answer: the error summary links to the field.
      await Promise.all([page.waitForLoadState('load'), page.locator('.form-actions button[value="next"]').click()]);
      assert.equal(await page.locator('#error-summary').count(), 1, 'error summary shown');
      // For people reviewing the look: the artifacts folder is kept after a run.
      await page.screenshot({ path: path.join(ARTIFACTS, 'application-step-errors.png'), fullPage: true });

      await answerDogRegistration(page);

      assert.ok((await page.locator('main').innerText()).includes('Labrador-Mischling'));
      await page.screenshot({ path: path.join(ARTIFACTS, 'application-review.png'), fullPage: true });
      await expectAccessible(page, 'review page');
      const reference = await submitApplication(page);
      await expectAccessible(page, 'confirmation page');

      const pdf = await context.request.get(`${portal}/applications/${reference}/receipt.pdf`);
      assert.equal(pdf.status(), 200);
      assert.equal(pdf.headers()['content-type'], 'application/pdf');
      assert.equal((await pdf.body()).subarray(0, 5).toString(), '%PDF-');

      // The delivery worker is woken by the submit; the node acknowledges within seconds.
      let status = '';
      for (let i = 0; i < 40 && !status.includes('Zugestellt'); i++) {
        await page.goto(`${portal}/applications`);
        status = await page.locator('main').innerText();
        if (!status.includes('Zugestellt')) await new Promise((r) => setTimeout(r, 500));
      }
      assert.ok(status.includes(reference), 'listed in the account');
      assert.ok(status.includes('Zugestellt'), `delivered to the authority node: ${status}`);
      await expectAccessible(page, 'applications page');
    } catch (err) {
      const shot = await saveFailureScreenshot(page, 'application-dog-registration');
      err.message += `\nat ${page.url()}\nscreenshot: ${shot}`;
      throw err;
    }
  });
});

describe('idle logout warning', { timeout: 60_000 }, () => {
  it('appears two minutes before the timeout, keeps the session on request, and signs out at the end', async () => {
    const context = await newContext(env.browser, 'de');
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    try {
      const portal = env.demo.portal;
      // A fresh account, signed in through the pages.
      const email = `warnung-${Date.now()}@example.org`;
      await createAccount(page, portal, env.demo.dataDir, email);
      await signIn(page, portal, email);

      // The page's timers run on a controlled clock.
      await page.clock.install();
      await page.goto(`${portal}/account`);
      const dialog = page.getByRole('dialog', { name: 'Sind Sie noch da?' });
      assert.equal(await dialog.isVisible(), false);
      await page.clock.fastForward('27:59');
      assert.equal(await dialog.isVisible(), false, 'not before 28 minutes');
      await page.clock.fastForward('00:02');
      await dialog.waitFor({ state: 'visible' });
      const stay = page.getByRole('button', { name: 'Angemeldet bleiben' });
      assert.equal(await stay.evaluate((el) => el === document.activeElement), true, 'focus is on "stay"');
      const violations = await runAxe(page);
      assert.equal(violations.length, 0, formatViolations(violations));
      await Promise.all([page.waitForResponse(/\/api\/v1\/account/), stay.click()]);
      await dialog.waitFor({ state: 'hidden' });
      // Without another click, the end comes 30 minutes later and the page goes to sign-in
      // (only the browser's clock moved here, so the server still knows the session and sends
      // the page on to the account; the request to sign-in is what shows the page gave up).
      await Promise.all([page.waitForRequest(/\/account\/sign-in/), page.clock.fastForward('30:01')]);
      await page.waitForLoadState('load');

      // Signing out ends the session on the server: the account page asks to sign in again,
      // and a page without a session has no warning.
      await page.goto(`${portal}/account`);
      await Promise.all([page.waitForURL(/\/account\/signed-out/), page.locator('form[action="/account/sign-out"] button').click()]);
      assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Sie sind abgemeldet');
      await page.goto(`${portal}/account`);
      assert.match(page.url(), /\/account\/sign-in/, 'signed out');
      assert.equal(await page.locator('#session-warning').count(), 0);
    } catch (err) {
      const shot = await saveFailureScreenshot(page, 'idle-warning');
      err.message += `\nat ${page.url()}\nscreenshot: ${shot}`;
      throw err;
    } finally {
      await context.close();
    }
  });
});
