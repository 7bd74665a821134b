// A Servicekonto for a journey: register through the pages, confirm the address from the link in
// the demo's mail folder, and sign in. Shared by the suites that need a signed-in citizen.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const PASSWORD = 'Ein langer Satz als Passwort';

/**
 * The link to `linkPath?token=…` in the newest `…-<kind>.eml` mail to `email` in the demo's mail
 * folder, decoded from quoted-printable.
 */
export function mailLink(dataDir, kind, email, linkPath) {
  const dir = path.join(dataDir, 'mail');
  const files = readdirSync(dir).filter((f) => f.endsWith(`-${kind}.eml`)).sort().reverse();
  const pattern = new RegExp(`(https?:\\/\\/[^\\s"<>]+${linkPath.replace(/\//g, '\\/')}\\?token=[A-Za-z0-9_-]+)`);
  for (const file of files) {
    const raw = readFileSync(path.join(dir, file), 'utf8')
      .replace(/=\r?\n/g, '')
      .replace(/=3D/g, '=');
    if (!raw.includes(email)) continue;
    const m = pattern.exec(raw);
    if (m) return m[1];
  }
  throw new Error(`no ${kind} mail to ${email} yet`);
}

/** The confirmation link of the newest confirm mail to `email`. */
export function confirmLink(dataDir, email) {
  return mailLink(dataDir, 'confirm', email, '/account/confirm');
}

/** Registers `email` and confirms it; mails are written in the background, so this waits up to 10 s. */
export async function createAccount(page, portal, dataDir, email) {
  await page.goto(`${portal}/account/register`);
  await page.locator('#email').fill(email);
  await page.locator('#password').fill(PASSWORD);
  await Promise.all([page.waitForLoadState('load'), page.locator('form.account-form button[type="submit"]').click()]);
  let link;
  for (let i = 0; i < 50 && !link; i++) {
    try {
      link = confirmLink(dataDir, email);
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  assert.ok(link, `a confirmation mail to ${email}`);
  await page.goto(link.replace(/^https?:\/\/[^/]+/, portal));
  await Promise.all([page.waitForLoadState('load'), page.locator('main form button[type="submit"]').click()]);
}

/** Signs in with the password and waits for the account page. */
export async function signIn(page, portal, email) {
  await page.goto(`${portal}/account/sign-in`);
  await page.locator('#email').fill(email);
  await page.locator('#password').fill(PASSWORD);
  await Promise.all([page.waitForURL(/\/account$/), page.locator('form.account-form button[type="submit"]').click()]);
}
