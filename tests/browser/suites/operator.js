// The operator's status page without JavaScript: the demo's operator (printed at start, see
// README.md) signs in, sees the delivery outbox per authority node, in German and English, and
// the page passes axe (WCAG 2.1 A/AA). A citizen's account does not find the page at all.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { expectAccessible } from '../lib/accessible.js';
import { newContext, saveFailureScreenshot, withLang } from '../lib/browser.js';
import { env } from '../lib/env.js';

const OPERATOR = 'betrieb@rathaus.example';
const OPERATOR_PASSWORD = 'Demo-Betrieb-Status';

describe('operator status page', { timeout: 60_000 }, () => {
  let context;
  let page;
  let portal;

  before(async () => {
    portal = env.demo.portal;
    context = await newContext(env.browser, 'de', { javaScriptEnabled: false });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
  });
  after(async () => {
    await context?.close();
  });

  it('shows the outbox to the demo operator, accessibly, in German and English', async (t) => {
    try {
      const before = await page.goto(`${portal}/operator`);
      assert.ok(page.url().includes('/account/sign-in'), `sent to the sign-in page: ${page.url()} ${before.status()}`);
      await page.locator('#email').fill(OPERATOR);
      await page.locator('#password').fill(OPERATOR_PASSWORD);
      await Promise.all([page.waitForURL(/\/operator$/), page.locator('form.account-form button[type="submit"]').click()]);
      assert.equal(await page.locator('h1').innerText(), 'Betriebsstatus: Zustellung');
      const main = await page.locator('main').innerText();
      assert.ok(main.includes('Postausgang je Behördenknoten'), main);
      assert.ok(main.includes('Unzustellbar'), main);
      await expectAccessible(page, 'operator status page');

      await page.goto(`${portal}${withLang('/operator', 'en')}`);
      assert.equal(await page.locator('h1').innerText(), 'Operations status: delivery');
      await expectAccessible(page, 'operator status page (English)');

      await page.goto(`${portal}${withLang('/account', 'de')}`);
      assert.equal(await page.locator('#operator-link').getAttribute('href'), '/operator');
    } catch (err) {
      err.message += `\nat ${page.url()}, screenshot: ${await saveFailureScreenshot(page, 'operator-status')}`;
      t.diagnostic(err.message);
      throw err;
    }
  });
});
