// 1. axe-core finds no WCAG 2.1 A/AA violation, and 2. the structure a screen reader relies on is
// there, on every page in German and English.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { formatViolations, runAxe, runStructureRules } from '../lib/axe.js';
import { newContext, saveFailureScreenshot } from '../lib/browser.js';
import { env, pageUrl } from '../lib/env.js';
import { LANGS, PAGES } from '../lib/pages.js';

/** The landmarks, headings and named form fields as Chromium's accessibility tree has them. */
async function accessibilityFacts(page) {
  const cdp = await page.context().newCDPSession(page);
  try {
    const { nodes } = await cdp.send('Accessibility.getFullAXTree');
    const live = nodes.filter((n) => !n.ignored);
    const role = (n) => n.role?.value;
    const prop = (n, name) => n.properties?.find((p) => p.name === name)?.value?.value;
    const count = (r) => live.filter((n) => role(n) === r).length;
    const fields = ['textbox', 'searchbox', 'combobox', 'listbox', 'checkbox', 'radio', 'spinbutton', 'slider', 'switch'];
    return {
      banner: count('banner'),
      navigation: count('navigation'),
      main: count('main'),
      contentinfo: count('contentinfo'),
      h1: live.filter((n) => role(n) === 'heading' && prop(n, 'level') === 1).map((n) => n.name?.value ?? ''),
      unnamedFields: live
        .filter((n) => fields.includes(role(n)) && !(n.name?.value ?? '').trim())
        .map((n) => `${role(n)} #${n.backendDOMNodeId}`),
    };
  } finally {
    await cdp.detach();
  }
}

/** What the DOM says: the language, the skip link and its target, and how each field is labelled. */
function domFacts() {
  const focusable = 'a[href], button, input:not([type="hidden"]), select, textarea, [tabindex]:not([tabindex="-1"])';
  const first = document.body.querySelector(focusable);
  const href = first?.getAttribute('href') ?? '';
  const targetId = href.startsWith('#') ? decodeURIComponent(href.slice(1)) : null;
  const text = (el) => (el?.textContent ?? '').trim();
  const unlabelled = [...document.querySelectorAll('input, select, textarea')]
    .filter((el) => !['hidden', 'submit', 'button', 'reset', 'image'].includes(el.type))
    .filter((el) => {
      const byLabel = [...(el.labels ?? [])].some((l) => text(l));
      const byAria = (el.getAttribute('aria-label') ?? '').trim();
      const byRef = (el.getAttribute('aria-labelledby') ?? '')
        .split(/\s+/)
        .some((id) => id && text(document.getElementById(id)));
      return !(byLabel || byAria || byRef);
    })
    .map((el) => el.id || el.name || el.outerHTML.slice(0, 80));
  return {
    lang: document.documentElement.getAttribute('lang'),
    firstFocusable: first ? first.outerHTML.slice(0, 120) : null,
    skipTargetId: targetId,
    skipTargetExists: targetId !== null && document.getElementById(targetId) !== null,
    unlabelled,
  };
}

for (const lang of LANGS) {
  for (const spec of PAGES) {
    describe(`${spec.name} (${lang}) ${spec.path}`, { timeout: 60_000 }, () => {
      let context;
      let page;
      let url;

      before(async () => {
        context = await newContext(env.browser, lang);
        page = await context.newPage();
        url = pageUrl(spec, lang);
        const response = await page.goto(url, { waitUntil: 'load' });
        assert.equal(response.status(), spec.status ?? 200, `HTTP status of ${url}`);
      });

      after(async () => {
        await context?.close();
      });

      it('has no axe violations (WCAG 2.1 A and AA)', async () => {
        const violations = await runAxe(page);
        if (violations.length > 0) {
          const shot = await saveFailureScreenshot(page, `axe-${spec.name}-${lang}`);
          const report = formatViolations(violations);
          assert.fail(`${violations.length} axe violation(s) on ${url}:\n${report}\nscreenshot: ${shot}`);
        }
      });

      it('has one h1, the right lang, a skip link, landmarks and labelled fields', async () => {
        const dom = await page.evaluate(domFacts);
        const ax = await accessibilityFacts(page);
        const problems = [];
        if (dom.lang !== lang) problems.push(`<html lang="${dom.lang}">, expected "${lang}"`);
        if (ax.h1.length !== 1) problems.push(`${ax.h1.length} level-1 headings (${JSON.stringify(ax.h1)}), expected exactly one`);
        if (!dom.skipTargetId) problems.push(`the first focusable element is no skip link: ${dom.firstFocusable}`);
        else if (!dom.skipTargetExists) problems.push(`the skip link points to #${dom.skipTargetId}, which does not exist`);
        if (ax.banner !== 1) problems.push(`${ax.banner} banner landmarks (header), expected 1`);
        if (ax.navigation < 1) problems.push('no navigation landmark (nav)');
        if (ax.main !== 1) problems.push(`${ax.main} main landmarks, expected 1`);
        if (ax.contentinfo !== 1) problems.push(`${ax.contentinfo} contentinfo landmarks (footer), expected 1`);
        if (dom.unlabelled.length) problems.push(`fields without a label: ${dom.unlabelled.join(', ')}`);
        if (ax.unnamedFields.length) problems.push(`fields without an accessible name: ${ax.unnamedFields.join(', ')}`);
        const structural = await runStructureRules(page);
        if (structural.length) problems.push(`axe structure rules:\n${formatViolations(structural)}`);
        if (problems.length) {
          const shot = await saveFailureScreenshot(page, `structure-${spec.name}-${lang}`);
          assert.fail(`${url}:\n  ${problems.join('\n  ')}\nscreenshot: ${shot}`);
        }
      });
    });
  }
}
