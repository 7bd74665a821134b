// The back office of an authority node, as a demo clerk: `<authority id>@behoerde.example` with
// the demo password (README.md, "Working a case in the back office").

import assert from 'node:assert/strict';
import { expectAccessible } from './accessible.js';

export const CLERK_PASSWORD = 'Demo-Sachbearbeitung';

/** The demo clerk of an authority (ids in demo/tenant.toml). */
export const clerkEmail = (authority) => `${authority}@behoerde.example`;

/** Signs in at `node`'s back office (the sign-in page checked with axe) and waits for `next`. */
export async function signInClerk(page, node, email, next = '/back-office') {
  await page.goto(`${node}/back-office/sign-in?next=${encodeURIComponent(next)}`);
  await expectAccessible(page, 'back-office sign-in');
  await page.locator('#email').fill(email);
  await page.locator('#password').fill(CLERK_PASSWORD);
  await Promise.all([page.waitForLoadState('load'), page.locator('main form button[type="submit"]').click()]);
  assert.equal(new URL(page.url()).pathname, next, `signed in as ${email}: ${page.url()}`);
}
