// Screenshots of the main pages for the documentation (docs/screenshots/), written only when
// SCREENSHOTS=1: a 1280 × 800 viewport, not the full page, so the files stay small.

import assert from 'node:assert/strict';
import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { newContext, withLang } from '../lib/browser.js';
import { REPO_ROOT } from '../lib/demo.js';
import { env } from '../lib/env.js';
import { LANGS, RESIDENCE_REGISTRATION } from '../lib/pages.js';

const DIR = path.join(REPO_ROOT, 'docs', 'screenshots');

const SHOTS = [
  { name: 'start', path: '/' },
  { name: 'search', path: '/search?q=Ummeldung' },
  // The finder result lies below the fold: the picture starts a little above its section.
  { name: 'service-finder', path: `/services/${RESIDENCE_REGISTRATION}?postcode=22765`, from: '#responsibility' },
];

const VIEWPORT = { width: 1280, height: 800 };
const enabled = process.env.SCREENSHOTS === '1';

describe('documentation screenshots', { skip: enabled ? false : 'set SCREENSHOTS=1 to write docs/screenshots/', timeout: 60_000 }, () => {
  for (const lang of LANGS) {
    for (const shot of SHOTS) {
      it(`${shot.name}-${lang}.png`, async () => {
        mkdirSync(DIR, { recursive: true });
        const context = await newContext(env.browser, lang, { viewport: VIEWPORT });
        const page = await context.newPage();
        try {
          await page.goto(env.demo.portal + withLang(shot.path, lang));
          await page.evaluate(() => document.fonts.ready);
          const file = path.join(DIR, `${shot.name}-${lang}.png`);
          const options = { path: file, animations: 'disabled', caret: 'hide' };
          if (shot.from) {
            const top = await page.locator(shot.from).evaluate((el) => el.getBoundingClientRect().top + window.scrollY);
            options.fullPage = true;
            options.clip = { x: 0, y: Math.max(0, top - 24), width: VIEWPORT.width, height: VIEWPORT.height };
          }
          await page.screenshot(options);
          assert.ok(statSync(file).size > 0);
        } finally {
          await context.close();
        }
      });
    }
  }
});
