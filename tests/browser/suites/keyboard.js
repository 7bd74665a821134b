// 5. The first Tab lands on the skip link, which is then visibly focused, and it leads into main.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newContext, saveFailureScreenshot } from '../lib/browser.js';
import { env, pageUrl } from '../lib/env.js';
import { PAGES } from '../lib/pages.js';

const CHECKED = PAGES.filter((p) => ['start', 'search', 'service-finder-found', 'authority-node'].includes(p.name));

describe('keyboard', { timeout: 60_000 }, () => {
  for (const lang of ['de', 'en']) {
    for (const spec of CHECKED) {
      it(`${spec.name} (${lang}): Tab focuses the visible skip link, Enter moves to the content`, async () => {
        const context = await newContext(env.browser, lang);
        const page = await context.newPage();
        try {
          await page.goto(pageUrl(spec, lang));
          await page.keyboard.press('Tab');
          const focused = await page.evaluate(() => {
            const el = document.activeElement;
            const style = getComputedStyle(el);
            const box = el.getBoundingClientRect();
            return {
              html: el.outerHTML.slice(0, 120),
              isSkipLink: el.tagName === 'A' && (el.getAttribute('href') ?? '').startsWith('#'),
              href: el.getAttribute('href'),
              outlineStyle: style.outlineStyle,
              outlineWidth: parseFloat(style.outlineWidth),
              width: box.width,
              height: box.height,
              inViewport: box.top >= 0 && box.left >= 0 && box.bottom <= innerHeight && box.right <= innerWidth,
            };
          });
          try {
            assert.ok(focused.isSkipLink, `the first Tab focuses a skip link, not ${focused.html}`);
            assert.notEqual(focused.outlineStyle, 'none', 'the focused skip link has an outline');
            assert.ok(focused.outlineWidth >= 2, `the outline is at least 2px wide (${focused.outlineWidth}px)`);
            assert.ok(focused.width > 20 && focused.height > 20, `the skip link is visible when focused (${focused.width}×${focused.height})`);
            assert.ok(focused.inViewport, 'the focused skip link is inside the viewport');

            await page.keyboard.press('Enter');
            const after = await page.evaluate(() => ({
              hash: location.hash,
              activeId: document.activeElement?.id,
            }));
            assert.equal(after.hash, focused.href, 'Enter follows the skip link');
            assert.equal(`#${after.activeId}`, focused.href, 'the skip link target gets the focus');
          } catch (err) {
            err.message += `\nscreenshot: ${await saveFailureScreenshot(page, `keyboard-${spec.name}-${lang}`)}`;
            throw err;
          }
        } finally {
          await context.close();
        }
      });
    }
  }
});

// The life-situation filters of the search page: a sidebar on wide screens; on phones folded into a
// disclosure, so the results are not pushed far down, that opens with the keyboard (no JavaScript).
describe('search filters', { timeout: 60_000 }, () => {
  const url = () => `${env.demo.portal}/search?q=hund&lang=en`;

  it('are listed beside the results at 1280px', async () => {
    const context = await newContext(env.browser, 'en', { javaScriptEnabled: false });
    const page = await context.newPage();
    try {
      await page.goto(url());
      const filters = page.getByRole('navigation', { name: 'Filter by life situation' });
      assert.ok(await filters.getByRole('link', { name: 'All life situations' }).isVisible(), 'the filter links are shown');
      assert.equal(await filters.locator('summary').isVisible(), false, 'no disclosure button on wide screens');
    } finally {
      await context.close();
    }
  });

  it('are folded at 320px and open with Tab and Enter', async () => {
    const context = await newContext(env.browser, 'en', { javaScriptEnabled: false, viewport: { width: 320, height: 640 } });
    const page = await context.newPage();
    try {
      await page.goto(url());
      const filters = page.getByRole('navigation', { name: 'Filter by life situation' });
      const all = filters.getByRole('link', { name: 'All life situations' });
      assert.equal(await all.isVisible(), false, 'the filter links start folded');
      const summary = filters.locator('summary');
      assert.equal((await summary.innerText()).trim(), 'All life situations', 'the summary names the current choice');
      // Tab through the page until the summary has the focus, as a keyboard user would.
      for (let i = 0; i < 30 && !(await summary.evaluate((el) => el === document.activeElement)); i++) {
        await page.keyboard.press('Tab');
      }
      assert.ok(await summary.evaluate((el) => el === document.activeElement), 'the summary is reachable with Tab');
      await page.keyboard.press('Enter');
      assert.ok(await all.isVisible(), 'Enter opens the filters');
    } catch (err) {
      err.message += `\nscreenshot: ${await saveFailureScreenshot(page, 'search-filters-320')}`;
      throw err;
    } finally {
      await context.close();
    }
  });
});
