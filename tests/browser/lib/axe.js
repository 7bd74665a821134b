// axe-core, injected into the page under test: WCAG 2.1 A and AA, plus a few best-practice rules
// about the structure a screen reader navigates by.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

/**
 * axe's best-practice rules on landmarks, headings and roles. They are no WCAG success criteria,
 * so they run with the structure checks, not with the WCAG run.
 */
export const STRUCTURE_RULES = [
  'region',
  'landmark-one-main',
  'landmark-unique',
  'landmark-no-duplicate-banner',
  'landmark-no-duplicate-contentinfo',
  'landmark-no-duplicate-main',
  'landmark-banner-is-top-level',
  'landmark-contentinfo-is-top-level',
  'landmark-main-is-top-level',
  'landmark-complementary-is-top-level',
  'page-has-heading-one',
  'heading-order',
  'empty-heading',
  'skip-link',
  'aria-allowed-role',
];

/**
 * Runs axe on the loaded page and returns the violations. The script is evaluated through the
 * DevTools protocol (not a <script> tag), so the page's Content-Security-Policy stays in force.
 * @param {{type: 'tag' | 'rule', values: string[]}} runOnly
 * @returns {Promise<import('axe-core').Result[]>}
 */
async function run(page, runOnly) {
  const loaded = await page.evaluate(() => typeof window.axe !== 'undefined');
  if (!loaded) await page.evaluate(AXE_SOURCE);
  const results = await page.evaluate(
    (only) => window.axe.run(document, { runOnly: only, resultTypes: ['violations'] }),
    runOnly,
  );
  return results.violations;
}

/** The WCAG 2.1 A and AA violations of the loaded page. */
export function runAxe(page) {
  return run(page, { type: 'tag', values: AXE_TAGS });
}

/** The violations of the structure rules on the loaded page. */
export function runStructureRules(page) {
  return run(page, { type: 'rule', values: STRUCTURE_RULES });
}

/** Violations as readable text: id, impact, help, and the target selectors of every node. */
export function formatViolations(violations) {
  return violations
    .map((v) => {
      const nodes = v.nodes
        .map((n) => `    - ${n.target.join(' ')}${n.failureSummary ? `\n      ${n.failureSummary.replace(/\n/g, '\n      ')}` : ''}`)
        .join('\n');
      return `  [${v.impact}] ${v.id}: ${v.help} (${v.helpUrl})\n${nodes}`;
    })
    .join('\n');
}
