// Level `substantial` at a counter, then a decision in the Postfach, without JavaScript: a new
// citizen asks for an identification code (keeping the checked details for prefill), a clerk of
// the node `kundenzentren` confirms it at /back-office/counter, the citizen signs in again at
// `substantial` and submits the dog registration, the dog register's clerk (node
// `landesbehoerden`, demo/tenant.toml) opens the case and sends a decision, the citizen finds it
// in the Postfach, downloads the decision's PDF and replies, and the reply shows on the case page.
// Every page on the way is checked with axe (WCAG 2.1 A/AA); the Postfach also in English.

import assert from 'node:assert/strict';
import { before, describe } from 'node:test';
import { expectAccessible, until } from '../lib/accessible.js';
import { createAccount, signIn } from '../lib/account.js';
import { clerkEmail, signInClerk } from '../lib/back_office.js';
import { withLang } from '../lib/browser.js';
import { answerDogRegistration, startDogRegistration, submitApplication } from '../lib/dog.js';
import { env } from '../lib/env.js';
import { parties } from '../lib/parties.js';

const EMAIL = `theke-${Date.now()}@example.org`;
const COUNTER_NODE = 'kundenzentren';
const COUNTER_CLERK = clerkEmail('kundenzentrum-altona');
// The dog registration goes to the central dog register, on the node `landesbehoerden`.
const CASE_NODE = 'landesbehoerden';
const CASE_CLERK = clerkEmail('hunderegister');
const DECISION_SUBJECT = 'Anmeldung Ihres Hundes Bello';
const REPLY = 'Vielen Dank, die Steuermarke hole ich ab.';
// Words of the German interface that an English page must not show.
const GERMAN_UI = ['Postfach', 'Zurück zum', 'Antwort senden', 'Eingegangen', 'Anlagen', 'Mein Konto', 'Abmelden'];

/** Opens `url` and returns the text of main. */
async function mainText(page, url) {
  await page.goto(url);
  return page.locator('main').innerText();
}

describe('counter identification and mailbox', { timeout: 120_000 }, () => {
  const { pages, step } = parties('counter-mailbox', ['citizen', 'clerk']);
  let portal;
  const journey = {};

  before(() => {
    portal = env.demo.portal;
    for (const node of [COUNTER_NODE, CASE_NODE]) {
      assert.ok(env.demo.nodes[node], `the demo prints the node ${node}: ${JSON.stringify(env.demo.nodes)}`);
    }
  });

  step('the citizen asks for an identification code', async () => {
    const { citizen, clerk } = pages;
    await createAccount(citizen, portal, env.demo.dataDir, EMAIL);
    await signIn(citizen, portal, EMAIL);
    await citizen.goto(`${portal}/account/level`);
    assert.ok((await citizen.locator('#account-level').innerText()).includes('Basis'));
    await expectAccessible(citizen, 'level page');
    await citizen.locator('#in-person-remember').check();
    await Promise.all([
      citizen.waitForLoadState('load'),
      citizen.locator('form[action="/account/level/in-person"] button[type="submit"]').click(),
    ]);
    journey.code = (await citizen.locator('#identification-code').innerText()).trim();
    assert.match(journey.code, /^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$/, `the code: ${journey.code}`);
    await expectAccessible(citizen, 'identification code page');
  });

  step('a clerk confirms the identity at the counter', async () => {
    const { citizen, clerk } = pages;
    const node = env.demo.nodes[COUNTER_NODE];
    await signInClerk(clerk, node, COUNTER_CLERK, '/back-office/counter');
    await expectAccessible(clerk, 'counter page');
    await clerk.locator('#code').fill(journey.code.toLowerCase().replace(/-/g, ' '));
    for (const [id, value] of Object.entries({
      family_name: 'Mustermann',
      given_names: 'Erika',
      birth_date: '1964-08-12',
      street: 'Kirchenallee',
      house_number: '1',
      postcode: '20099',
      city: 'Hamburg',
    })) {
      await clerk.locator(`#${id}`).fill(value);
    }
    await clerk.locator('#document_type').selectOption('personalausweis');
    await clerk.locator('#checked').check();
    await Promise.all([clerk.waitForLoadState('load'), clerk.locator('main form.account-form button[type="submit"]').click()]);
    assert.ok((await clerk.locator('#counter-outcome').innerText()).includes('Identität bestätigt'));
    assert.equal(await clerk.locator('#code').inputValue(), '', 'a fresh form for the next person');
    await expectAccessible(clerk, 'counter result');
  });

  step('the citizen signs in again at level substantial and submits the dog registration', async () => {
    const { citizen, clerk } = pages;
    // A level change ends the session.
    await citizen.goto(`${portal}/account`);
    assert.match(citizen.url(), /\/account\/sign-in/, `signed out by the level change: ${citizen.url()}`);
    await signIn(citizen, portal, EMAIL);
    await citizen.goto(`${portal}/account/level`);
    assert.ok((await citizen.locator('#account-level').innerText()).includes('Substanziell'));
    await expectAccessible(citizen, 'level page at substantial');
    // The checked details were kept for prefill, as asked.
    const kept = await mainText(citizen, `${portal}/account/verified-attributes`);
    assert.ok(kept.includes('Mustermann') && kept.includes('Kirchenallee'), `verified details kept: ${kept}`);
    await expectAccessible(citizen, 'verified details page');

    await startDogRegistration(citizen, portal);
    await answerDogRegistration(citizen);
    await expectAccessible(citizen, 'review page');
    journey.reference = await submitApplication(citizen);
    await expectAccessible(citizen, 'confirmation page');
  });

  step('the clerk opens the case and sends a decision', async () => {
    const { citizen, clerk } = pages;
    const node = env.demo.nodes[CASE_NODE];
    await signInClerk(clerk, node, CASE_CLERK);
    // The application travels to the node in the background.
    await until(`${journey.reference} in the inbox`, async () => {
      await clerk.goto(`${node}/back-office?q=${encodeURIComponent(journey.reference)}`);
      return (await clerk.getByRole('link', { name: journey.reference }).count()) > 0;
    });
    await expectAccessible(clerk, 'inbox');
    await Promise.all([clerk.waitForURL(/\/back-office\/cases\//), clerk.getByRole('link', { name: journey.reference }).click()]);
    assert.equal((await clerk.locator('h1').innerText()).trim(), journey.reference);
    journey.caseUrl = clerk.url();
    await expectAccessible(clerk, 'case page');

    await clerk.locator('#kind-decision').check();
    await clerk.locator('#message-subject').fill(DECISION_SUBJECT);
    await clerk.locator('#message-text').fill('Ihr Hund ist angemeldet; der Bescheid liegt bei.');
    await clerk.locator('#message-decision').fill('Der Hund Bello wird in das Hunderegister eingetragen.\nDie Steuermarke erhalten Sie mit der Post.');
    await Promise.all([clerk.waitForLoadState('load'), clerk.locator('#message-form button[type="submit"]').click()]);
    const messages = await clerk.locator('#messages').innerText();
    assert.ok(messages.includes(DECISION_SUBJECT), `the decision listed on the case page: ${messages}`);
    await expectAccessible(clerk, 'case page after the decision');
  });

  step('the citizen reads the decision in the Postfach, downloads its PDF and replies', async () => {
    const { citizen, clerk } = pages;
    // The node sends the message to the portal in the background.
    const list = await until('the decision in the Postfach', async () => {
      const text = await mainText(citizen, `${portal}/account/mailbox`);
      return text.includes(DECISION_SUBJECT) && text;
    });
    assert.ok(list.includes(journey.reference), `listed under the application: ${list}`);
    await expectAccessible(citizen, 'Postfach');
    await Promise.all([citizen.waitForURL(/\/account\/mailbox\/[^/?]+$/), citizen.getByRole('link', { name: DECISION_SUBJECT }).click()]);
    journey.messageUrl = citizen.url();
    assert.ok((await citizen.locator('h1').innerText()).includes('Bescheid'));
    await expectAccessible(citizen, 'message page');

    const hrefs = await citizen.locator('main a[href*="/files/"]').evaluateAll((links) => links.map((a) => a.href));
    assert.ok(hrefs.length >= 1, 'the decision is attached');
    const pdf = await citizen.context().request.get(hrefs[0]);
    assert.equal(pdf.status(), 200);
    assert.equal((await pdf.body()).subarray(0, 5).toString(), '%PDF-', 'the decision is a PDF');

    await citizen.locator('#reply-text').fill(REPLY);
    await Promise.all([citizen.waitForURL(/\?sent=1$/), citizen.getByRole('button', { name: 'Antwort senden' }).click()]);
    assert.ok((await citizen.locator('main').innerText()).includes(REPLY));
    await expectAccessible(citizen, 'reply sent');
  });

  step('the reply reaches the case page', async () => {
    const { citizen, clerk } = pages;
    // Through the portal's delivery outbox to the node.
    await until('the reply on the case page', async () => {
      await clerk.goto(journey.caseUrl);
      return (await clerk.locator('#messages').innerText()).includes(REPLY);
    });
    await expectAccessible(clerk, 'case page with the reply');
  });

  step('the Postfach and the message in English', async () => {
    const { citizen, clerk } = pages;
    for (const [url, heading] of [
      [`${portal}${withLang('/account/mailbox', 'en')}`, 'Mailbox'],
      [withLang(journey.messageUrl, 'en'), 'Decision'],
    ]) {
      await citizen.goto(url);
      assert.equal(await citizen.locator('html').getAttribute('lang'), 'en');
      assert.ok((await citizen.locator('h1').innerText()).includes(heading), `heading ${heading} at ${url}`);
      const text = await citizen.locator('body').innerText();
      const german = GERMAN_UI.filter((word) => text.includes(word));
      assert.deepEqual(german, [], `German interface text on ${url}`);
      await expectAccessible(citizen, `English ${heading}`);
    }
  });
});
