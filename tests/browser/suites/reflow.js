// 6. WCAG 1.4.10 Reflow: no horizontal scrolling at 320 CSS px, nor at 1280 px zoomed to 200 %
// (emulated as a 640 px viewport with device scale factor 2).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newContext, saveFailureScreenshot } from '../lib/browser.js';
import { env, pageUrl } from '../lib/env.js';
import { LANGS, MAIN_PAGES, PAGES } from '../lib/pages.js';

const VIEWPORTS = [
  { name: '320px', viewport: { width: 320, height: 640 }, deviceScaleFactor: 1 },
  { name: '1280px at 200%', viewport: { width: 640, height: 450 }, deviceScaleFactor: 2 },
];

const CHECKED = [...MAIN_PAGES, ...PAGES.filter((p) => ['search-no-results', 'life-situations', 'not-found', 'authority-node', 'privacy'].includes(p.name))];

function overflow() {
  // Folded content (the search filters on narrow screens) must reflow too once opened.
  for (const details of document.querySelectorAll('details')) details.open = true;
  const root = document.scrollingElement;
  const limit = root.clientWidth;
  const culprits = [];
  if (root.scrollWidth > limit) {
    for (const el of document.body.querySelectorAll('*')) {
      const box = el.getBoundingClientRect();
      if (box.width > 0 && box.right > limit + 0.5) {
        const id = el.id ? `#${el.id}` : '';
        const cls = typeof el.className === 'string' && el.className ? `.${el.className.trim().split(/\s+/).join('.')}` : '';
        culprits.push(`${el.tagName.toLowerCase()}${id}${cls} (right edge ${Math.round(box.right)}px)`);
        if (culprits.length >= 8) break;
      }
    }
  }
  return { scrollWidth: root.scrollWidth, clientWidth: limit, culprits };
}

for (const vp of VIEWPORTS) {
  describe(`reflow at ${vp.name}`, { timeout: 120_000 }, () => {
    for (const lang of LANGS) {
      it(`no horizontal scrolling (${lang}) on ${CHECKED.map((p) => p.name).join(', ')}`, async () => {
        const context = await newContext(env.browser, lang, { viewport: vp.viewport, deviceScaleFactor: vp.deviceScaleFactor });
        const page = await context.newPage();
        const problems = [];
        try {
          for (const spec of CHECKED) {
            await page.goto(pageUrl(spec, lang));
            const o = await page.evaluate(overflow);
            if (o.scrollWidth > o.clientWidth) {
              const shot = await saveFailureScreenshot(page, `reflow-${vp.viewport.width}-${spec.name}-${lang}`);
              problems.push(`${spec.name}: scrollWidth ${o.scrollWidth} > clientWidth ${o.clientWidth}; widest: ${o.culprits.join(', ')}; screenshot: ${shot}`);
            }
          }
        } finally {
          await context.close();
        }
        assert.deepEqual(problems, [], `horizontal scrolling at ${vp.name}:\n  ${problems.join('\n  ')}`);
      });
    }
  });
}
