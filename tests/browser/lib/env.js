// What the suites share: the running demo and the browser, set up once by portal.test.js.

import { withLang } from './browser.js';

export const env = {
  /** @type {{portal: string, nodes: Record<string, string>, stop: () => Promise<void>} | null} */
  demo: null,
  /** @type {import('playwright-core').Browser | null} */
  browser: null,
};

/** The absolute URL of a page of lib/pages.js in `lang`. */
export function pageUrl(page, lang) {
  const base = page.node ? Object.values(env.demo.nodes)[0] : env.demo.portal;
  return base + withLang(page.path, lang);
}
