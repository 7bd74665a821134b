// The real-browser tests of rathaus: one `rathaus demo` and one Chromium for all suites.
// Run with `npm test` here, or `make browser` at the repository root (see README.md here).

import { rmSync } from 'node:fs';
import { after, before } from 'node:test';
import { ARTIFACTS, launchBrowser } from './lib/browser.js';
import { startDemo } from './lib/demo.js';
import { env } from './lib/env.js';

before(async () => {
  // Failure screenshots of an earlier run would mislead.
  rmSync(ARTIFACTS, { recursive: true, force: true });
  env.demo = await startDemo();
  env.browser = await launchBrowser();
}, { timeout: 90_000 });

after(async () => {
  await env.browser?.close();
  await env.demo?.stop();
});

await import('./suites/pages.js');
await import('./suites/journeys.js');
await import('./suites/applications.js');
await import('./suites/eid.js');
await import('./suites/passkeys.js');
await import('./suites/counter_mailbox.js');
await import('./suites/residence.js');
await import('./suites/organisations.js');
await import('./suites/operator.js');
await import('./suites/keyboard.js');
await import('./suites/reflow.js');
await import('./suites/links.js');
await import('./suites/screenshots.js');
