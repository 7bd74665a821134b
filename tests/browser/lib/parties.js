// A journey of several people at once (a citizen and a clerk, say), each in a browser context of
// their own, run as a sequence of steps: a step is skipped after an earlier one failed, and a
// failure saves a screenshot of every party's page.

import { after, before, it } from 'node:test';
import { newContext, saveFailureScreenshot } from './browser.js';
import { env } from './env.js';

/**
 * Declares the contexts of `roles` (German, JavaScript off unless asked) for the surrounding
 * `describe`; returns `pages` (filled before the first step, by role) and `step(name, fn)`.
 */
export function parties(label, roles, { javaScriptEnabled = false } = {}) {
  const pages = {};
  const contexts = [];
  let failed = false;
  before(async () => {
    for (const role of roles) {
      const context = await newContext(env.browser, 'de', { javaScriptEnabled });
      contexts.push(context);
      pages[role] = await context.newPage();
      pages[role].setDefaultTimeout(15_000);
    }
  });
  after(async () => {
    for (const context of contexts) await context.close();
  });

  function step(name, fn) {
    it(name, async (t) => {
      if (failed) {
        t.skip('an earlier step failed');
        return;
      }
      try {
        await fn();
      } catch (err) {
        failed = true;
        const shots = [];
        for (const role of roles) {
          const page = pages[role];
          shots.push(`${role} at ${page.url()}: ${await saveFailureScreenshot(page, `${label}-${name}-${role}`)}`);
        }
        err.message += `\n${shots.join('\n')}`;
        throw err;
      }
    });
  }
  return { pages, step };
}
