// 3./4. The flagship journey – find the residence registration and its responsible authority –
// with JavaScript disabled, in German and, through the language switch, in English.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { newContext, saveFailureScreenshot } from '../lib/browser.js';
import { env } from '../lib/env.js';
import { RESIDENCE_REGISTRATION } from '../lib/pages.js';

const TEXTS = {
  de: {
    search: 'Wonach suchen Sie?',
    searchButton: 'Suchen',
    query: 'Ummeldung',
    service: 'Wohnsitz anmelden (Anmeldung und Ummeldung einer Wohnung)',
    postcode: 'Postleitzahl oder Adresse',
    find: 'Zuständige Stelle finden',
    authority: /^Kundenzentrum\b.*\bAltona$/,
  },
  en: {
    search: 'What are you looking for?',
    searchButton: 'Search',
    query: 'register my address',
    service: 'Register your address (residence registration)',
    postcode: 'Postcode or address',
    find: 'Find the responsible authority',
    authority: /^Customer service centre\b.*\bAltona$/,
    switchLink: 'Sprache wechseln: English',
    navLink: 'Life situations',
    navHeading: 'Life situations',
  },
};

async function htmlLang(page) {
  return page.locator('html').getAttribute('lang');
}

/** Search → results → service page → finder, with the texts of `lang`. */
async function findAuthority(page, lang) {
  const t = TEXTS[lang];
  const searchbox = page.getByRole('searchbox', { name: t.search });
  await searchbox.click();
  await page.keyboard.type(t.query);
  await Promise.all([page.waitForURL(/\/search\?/), page.getByRole('button', { name: t.searchButton, exact: true }).click()]);
  assert.equal(await htmlLang(page), lang, 'language of the results page');

  const result = page.getByRole('link', { name: t.service, exact: true });
  assert.ok(await result.count() >= 1, `the results for "${t.query}" contain "${t.service}"`);
  await Promise.all([page.waitForURL(new RegExp(`/services/${RESIDENCE_REGISTRATION}`)), result.first().click()]);
  assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), t.service);

  await page.getByRole('textbox', { name: t.postcode }).click();
  await page.keyboard.type('22765');
  await Promise.all([page.waitForURL(/postcode=22765/), page.getByRole('button', { name: t.find, exact: true }).click()]);
  const authority = page.locator('.finder-result').getByRole('heading', { name: t.authority });
  assert.equal(await authority.count(), 1, `the finder shows ${t.authority}`);
  assert.equal(await htmlLang(page), lang, 'language of the service page');
}

function journey(name, body) {
  describe(name, { timeout: 60_000 }, () => {
    let context;
    let page;
    before(async () => {
      // German browser, so English can only come from the switch and the cookie it sets.
      context = await newContext(env.browser, 'de', { javaScriptEnabled: false });
      page = await context.newPage();
    });
    after(async () => {
      await context?.close();
    });
    it('works with JavaScript disabled', async () => {
      try {
        await body(page, context);
      } catch (err) {
        const shot = await saveFailureScreenshot(page, `journey-${name}`);
        err.message += `\nat ${page.url()}\nscreenshot: ${shot}`;
        throw err;
      }
    });
  });
}

journey('journey (de): search "Ummeldung", open the residence registration, find the authority for 22765', async (page) => {
  await page.goto(`${env.demo.portal}/`);
  assert.equal(await htmlLang(page), 'de');
  await findAuthority(page, 'de');
});

journey('journey (en): switch the language, search "register my address", open the service, find the authority for 22765', async (page, context) => {
  const t = TEXTS.en;
  await page.goto(`${env.demo.portal}/`);
  assert.equal(await htmlLang(page), 'de', 'a German browser gets German first');

  await Promise.all([page.waitForURL(/lang=en/), page.getByRole('link', { name: t.switchLink, exact: true }).click()]);
  assert.equal(await htmlLang(page), 'en', 'the page is English after the switch');
  assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Public services online');

  // The next page is reached through a link without ?lang=: the cookie carries the choice.
  const nav = page.getByRole('navigation', { name: 'Main navigation' });
  await Promise.all([page.waitForURL(/\/life-situations$/), nav.getByRole('link', { name: t.navLink, exact: true }).click()]);
  assert.equal(await htmlLang(page), 'en', 'the choice persists on the next page');
  assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), t.navHeading);
  const cookies = await context.cookies();
  assert.ok(cookies.some((c) => c.name === 'lang' && c.value === 'en'), `a lang=en cookie is set (${JSON.stringify(cookies.map((c) => c.name))})`);

  await page.goto(`${env.demo.portal}/`);
  assert.equal(await htmlLang(page), 'en', 'the start page without ?lang= is English too');
  await findAuthority(page, 'en');
});
