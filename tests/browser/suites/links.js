// Every link of the checked pages leads somewhere: same-origin links answer below 400.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newContext } from '../lib/browser.js';
import { env, pageUrl } from '../lib/env.js';
import { LANGS, PAGES } from '../lib/pages.js';

async function checkLinks(pages, lang) {
  const context = await newContext(env.browser, lang);
  const page = await context.newPage();
  const broken = [];
  try {
    const seen = new Set();
    for (const spec of pages) {
      const url = pageUrl(spec, lang);
      await page.goto(url);
      // Links to the page itself (the language switch, "all filters") are left out: the page
      // answered already, and the 404 page's switch rightly leads to the 404 page.
      const hrefs = await page.evaluate(() =>
        [...document.querySelectorAll('a[href]')]
          .filter((a) => a.origin === location.origin && a.pathname !== location.pathname)
          .map((a) => a.href.split('#')[0]),
      );
      for (const href of hrefs) {
        if (seen.has(href)) continue;
        seen.add(href);
        const response = await context.request.get(href, { maxRedirects: 5 });
        if (response.status() >= 400) broken.push(`${href} (${response.status()}), linked from ${url}`);
      }
    }
  } finally {
    await context.close();
  }
  return broken;
}

describe('links', { timeout: 120_000 }, () => {
  for (const lang of LANGS) {
    it(`no broken same-origin link on the portal pages (${lang})`, async () => {
      const broken = await checkLinks(PAGES.filter((p) => !p.node), lang);
      assert.deepEqual(broken, [], `broken links:\n  ${broken.join('\n  ')}`);
    });
  }

  it('no broken same-origin link on the authority node start page', async () => {
    const broken = await checkLinks(PAGES.filter((p) => p.node), 'de');
    assert.deepEqual(broken, [], `broken links:\n  ${broken.join('\n  ')}`);
  });
});
