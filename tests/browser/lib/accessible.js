// axe on the pages of a journey that runs without JavaScript. axe needs scripts, so the page the
// journey sees is checked in a second, JavaScript-enabled context with the same cookies: the
// journey page's HTML is served there at the same URL (so styles and relative links resolve the
// same), which also covers pages that answer a POST (a GET would show something else).

import assert from 'node:assert/strict';
import { formatViolations, runAxe } from './axe.js';
import { newContext, saveFailureScreenshot } from './browser.js';
import { env } from './env.js';

/** Asserts that the page as it is now has no WCAG 2.1 A/AA violation; `what` names it in the failure. */
export async function expectAccessible(page, what) {
  const url = page.url();
  const html = await page.content();
  const checker = await newContext(env.browser, 'de');
  try {
    await checker.addCookies(await page.context().cookies());
    const view = await checker.newPage();
    // Only the document itself comes from the snapshot; styles, scripts and images are fetched.
    await view.route(url, (route) =>
      route.request().isNavigationRequest()
        ? route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: html })
        : route.fallback(),
    );
    await view.goto(url);
    const violations = await runAxe(view);
    if (violations.length > 0) {
      const shot = await saveFailureScreenshot(view, `axe-${what}`);
      assert.fail(`${what} (${url}), screenshot ${shot}:\n${formatViolations(violations)}`);
    }
  } finally {
    await checker.close();
  }
}

/**
 * Calls `attempt` until it returns a truthy value, at most `timeout` ms; returns that value or
 * fails with `what` and the last value. For what the demo does in the background.
 */
export async function until(what, attempt, { timeout = 20_000, interval = 300 } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    last = await attempt();
    if (last) return last;
    if (Date.now() > deadline) assert.fail(`${what}: not within ${timeout / 1000} s (last: ${String(last).slice(0, 500)})`);
    await new Promise((r) => setTimeout(r, interval));
  }
}
