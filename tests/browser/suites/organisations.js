// Business accounts (Unternehmenskonten) in the browser, without JavaScript: Anna creates an
// organisation and invites Bob by e-mail; Bob, signed in with his own account, follows the link
// from the demo's mail folder and joins as a member; Anna makes him an owner and leaves, so the
// organisation keeps an owner. Every page on the way is checked with axe (WCAG 2.1 A/AA), the
// list also in English.

import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { expectAccessible, until } from '../lib/accessible.js';
import { createAccount, mailLink, signIn } from '../lib/account.js';
import { withLang } from '../lib/browser.js';
import { env } from '../lib/env.js';
import { parties } from '../lib/parties.js';

const STAMP = Date.now();
const ANNA = `anna-${STAMP}@example.org`;
const BOB = `bob-${STAMP}@example.org`;
const ORGANISATION = `Bäckerei Müller GmbH ${STAMP}`;

describe('business accounts: create, invite, join, hand over, leave', { timeout: 120_000 }, () => {
  const { pages, step } = parties('organisations', ['anna', 'bob']);
  const journey = {};

  step('Anna creates the organisation and invites Bob', async () => {
    const { anna, bob } = pages;
    const portal = env.demo.portal;
    await createAccount(anna, portal, env.demo.dataDir, ANNA);
    await signIn(anna, portal, ANNA);
    await anna.goto(`${portal}/account/organisations`);
    await expectAccessible(anna, 'business accounts, none yet');
    // A name that is too short is refused at its field, and nothing is created.
    await anna.getByLabel('Name der Organisation').fill('X');
    await Promise.all([anna.waitForLoadState('load'), anna.getByRole('button', { name: 'Unternehmenskonto anlegen' }).click()]);
    assert.ok(await anna.locator('#name-error').isVisible(), 'the name is refused');
    await expectAccessible(anna, 'business accounts, name refused');
    await anna.getByLabel('Name der Organisation').fill(ORGANISATION);
    await Promise.all([anna.waitForURL(/\/account\/organisations\/[^/?]+\?done=/), anna.getByRole('button', { name: 'Unternehmenskonto anlegen' }).click()]);
    journey.organisation = anna.url().split('?')[0];
    assert.equal(await anna.locator('#organisation-name').innerText(), ORGANISATION);
    assert.equal(await anna.locator('#your-role').innerText(), 'Inhaber/in');
    await expectAccessible(anna, 'new organisation');

    await anna.locator('#email').fill(BOB);
    await Promise.all([anna.waitForLoadState('load'), anna.getByRole('button', { name: 'Einladung schicken' }).click()]);
    assert.ok((await anna.locator('#invitations').innerText()).includes(BOB), 'the invitation is listed');
    await expectAccessible(anna, 'organisation with an invitation');
  });

  step('Bob joins through the link in the mail', async () => {
    const { anna, bob } = pages;
    const portal = env.demo.portal;
    await createAccount(bob, portal, env.demo.dataDir, BOB);
    await signIn(bob, portal, BOB);
    const link = await until('the invitation mail', async () => {
      try {
        return mailLink(env.demo.dataDir, 'invitation', BOB, '/account/invitation');
      } catch {
        return null;
      }
    });
    await bob.goto(link.replace(/^https?:\/\/[^/]+/, portal));
    assert.ok((await bob.locator('main').innerText()).includes(ORGANISATION));
    await expectAccessible(bob, 'invitation page');
    await Promise.all([bob.waitForURL(/\/account\/organisations\/[^/?]+\?done=/), bob.getByRole('button', { name: 'Einladung annehmen' }).click()]);
    assert.equal(await bob.locator('#your-role').innerText(), 'Mitglied');
    const members = await bob.locator('#members').innerText();
    assert.ok(members.includes(ANNA) && members.includes(BOB), `both are members: ${members}`);
    assert.equal(await bob.locator('#invitations').count(), 0, 'members do not see the invitations');
    await expectAccessible(bob, 'organisation as a member');
  });

  step('Anna makes Bob an owner and leaves; the organisation keeps its owner', async () => {
    const { anna, bob } = pages;
    await anna.goto(journey.organisation);
    await Promise.all([
      anna.waitForLoadState('load'),
      anna.locator('#members tr', { hasText: BOB }).getByRole('button', { name: /zum Inhaber machen/ }).click(),
    ]);
    assert.ok(await anna.locator('#notice').isVisible());
    await Promise.all([anna.waitForURL(/\/account\/organisations(\?|$)/), anna.getByRole('button', { name: 'Organisation verlassen' }).click()]);
    assert.ok(!(await anna.locator('main').innerText()).includes(ORGANISATION), 'Anna is no member any more');
    await expectAccessible(anna, 'business accounts after leaving');

    await bob.goto(journey.organisation);
    assert.equal(await bob.locator('#your-role').innerText(), 'Inhaber/in');
    assert.ok(!(await bob.locator('#members').innerText()).includes(ANNA));
    await bob.goto(`${env.demo.portal}${withLang('/account/organisations', 'en')}`);
    assert.equal(await bob.locator('h1').innerText(), 'Business accounts');
    await expectAccessible(bob, 'business accounts in English');
  });
});
