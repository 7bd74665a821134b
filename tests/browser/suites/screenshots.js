// Screenshots of the main pages for the documentation (docs/screenshots/), written only when
// SCREENSHOTS=1: a 1280 × 800 viewport, not the full page, so the files stay small.

import assert from 'node:assert/strict';
import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { createAccount, signIn } from '../lib/account.js';
import { CLERK_PASSWORD, clerkEmail } from '../lib/back_office.js';
import { newContext, withLang } from '../lib/browser.js';
import { REPO_ROOT } from '../lib/demo.js';
import { env } from '../lib/env.js';
import { DOG_REGISTRATION } from '../lib/dog.js';
import { LANGS, RESIDENCE_REGISTRATION } from '../lib/pages.js';

const DIR = path.join(REPO_ROOT, 'docs', 'screenshots');

const SHOTS = [
  { name: 'start', path: '/' },
  { name: 'search', path: '/search?q=Ummeldung' },
  // The finder result lies below the fold: the picture starts a little above its section.
  { name: 'service-finder', path: `/services/${RESIDENCE_REGISTRATION}?postcode=22765`, from: '#responsibility' },
  { name: 'sign-in', path: '/account/sign-in' },
  // Signed in as a fresh citizen (`as: 'citizen'`) or as a demo clerk of a node.
  { name: 'account', path: '/account', as: 'citizen' },
  { name: 'security', path: '/account/security', as: 'citizen', from: '#passkeys' },
  { name: 'form-step', path: `/services/${DOG_REGISTRATION}/form/owner`, as: 'citizen' },
  { name: 'organisations', path: '/account/organisations', as: 'citizen' },
  { name: 'back-office', path: '/back-office', as: 'clerk' },
];

/** The demo clerk whose inbox is shown: the dog register on the node `landesbehoerden`. */
const CLERK_NODE = 'landesbehoerden';
const CLERK = clerkEmail('hunderegister');

const VIEWPORT = { width: 1280, height: 800 };
const enabled = process.env.SCREENSHOTS === '1';

describe('documentation screenshots', { skip: enabled ? false : 'set SCREENSHOTS=1 to write docs/screenshots/', timeout: 120_000 }, () => {
  // The cookies of a signed-in citizen and of a signed-in clerk, added to each shot's context.
  const cookies = {};
  before(async () => {
    const context = await newContext(env.browser, 'de');
    const page = await context.newPage();
    const email = `screenshots-${Date.now()}@example.org`;
    await createAccount(page, env.demo.portal, env.demo.dataDir, email);
    await signIn(page, env.demo.portal, email);
    // The first step opened once, so the form has its draft.
    await page.goto(`${env.demo.portal}/services/${DOG_REGISTRATION}/form/owner`);
    cookies.citizen = await context.cookies();
    await context.close();

    const clerkContext = await newContext(env.browser, 'de');
    const clerk = await clerkContext.newPage();
    await clerk.goto(`${env.demo.nodes[CLERK_NODE]}/back-office/sign-in`);
    await clerk.locator('#email').fill(CLERK);
    await clerk.locator('#password').fill(CLERK_PASSWORD);
    await Promise.all([clerk.waitForURL(/\/back-office$/), clerk.locator('main form button[type="submit"]').click()]);
    cookies.clerk = await clerkContext.cookies();
    await clerkContext.close();
  });

  for (const lang of LANGS) {
    for (const shot of SHOTS) {
      it(`${shot.name}-${lang}.png`, async () => {
        mkdirSync(DIR, { recursive: true });
        const context = await newContext(env.browser, lang, { viewport: VIEWPORT });
        const page = await context.newPage();
        try {
          if (shot.as) await context.addCookies(cookies[shot.as]);
          const base = shot.as === 'clerk' ? env.demo.nodes[CLERK_NODE] : env.demo.portal;
          await page.goto(base + withLang(shot.path, lang));
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
