// Debian's Chromium driven by playwright-core (which never downloads a browser of its own), and
// helpers shared by the suites: page URLs, failure artefacts.

import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { REPO_ROOT } from './demo.js';

export const ARTIFACTS = path.join(REPO_ROOT, 'tests', 'browser', 'artifacts');

export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_BIN || '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A browser context that speaks `lang` (Accept-Language) and has a desktop viewport. */
export function newContext(browser, lang, options = {}) {
  return browser.newContext({
    locale: lang === 'en' ? 'en-GB' : 'de-DE',
    viewport: { width: 1280, height: 900 },
    ...options,
  });
}

/** `pathAndQuery` with an explicit `lang=` parameter, so the language never depends on a cookie. */
export function withLang(pathAndQuery, lang) {
  const [beforeHash, hash] = pathAndQuery.split('#');
  const sep = beforeHash.includes('?') ? '&' : '?';
  return `${beforeHash}${sep}lang=${lang}${hash === undefined ? '' : `#${hash}`}`;
}

/** A file name for an artefact of this test. */
export function artifactName(...parts) {
  return parts
    .join('-')
    .replace(/^https?:\/\/[^/]+/, '')
    .replace(/[^A-Za-z0-9_.-]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 120);
}

/** Saves a full-page screenshot of `page` to the artefacts directory; returns its path. */
export async function saveFailureScreenshot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${artifactName(name)}.png`);
  try {
    await page.screenshot({ path: file, fullPage: true });
    return file;
  } catch (err) {
    return `(no screenshot: ${err.message})`;
  }
}
