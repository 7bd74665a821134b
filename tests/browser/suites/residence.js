// The flagship journey end to end, without JavaScript: a new citizen raises the account to level
// `high` with the demo's TEST eID provider (Erika Mustermann), fills in the residence
// registration over its steps (new home, previous home, the person moving, the landlord's
// confirmation as an uploaded PDF), submits it; the registration office (Kundenzentrum Altona, node
// `kundenzentren`) opens the case, sees the upload and sends a decision, and the citizen reads it
// in the Postfach. Every page on the way is checked with axe (WCAG 2.1 A/AA).

import assert from 'node:assert/strict';
import { before, describe } from 'node:test';
import { expectAccessible, until } from '../lib/accessible.js';
import { createAccount, signIn } from '../lib/account.js';
import { clerkEmail, signInClerk } from '../lib/back_office.js';
import { submitApplication, submitStep } from '../lib/dog.js';
import { env } from '../lib/env.js';
import { parties } from '../lib/parties.js';
import { RESIDENCE_REGISTRATION } from '../lib/pages.js';

const EMAIL = `umzug-${Date.now()}@example.org`;
const NODE = 'kundenzentren';
const CLERK = clerkEmail('kundenzentrum-altona');
const DECISION_SUBJECT = 'Ihre Anmeldung in der Ottenser Hauptstraße';
const UPLOAD = 'wohnungsgeberbestaetigung.pdf';
const PDF = Buffer.from('%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n');

/** `offset` days from today as YYYY-MM-DD. */
function day(offset) {
  return new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
}

const STEPS = [
  {
    name: 'new home',
    at: /\/form\/new_home$/,
    fields: {
      'new_address.street': 'Ottenser Hauptstraße',
      'new_address.house_number': '10',
      'new_address.postcode': '22765',
      'new_address.city': 'Hamburg',
      move_in_date: day(-3),
      residence_kind: 'sole',
    },
  },
  {
    name: 'previous home',
    at: /\/form\/previous_home$/,
    fields: {
      moved_from_abroad: 'no',
      'previous_address.street': 'Bahnhofstraße',
      'previous_address.house_number': '5',
      'previous_address.postcode': '24103',
      'previous_address.city': 'Kiel',
      previous_home_kept: 'no',
    },
  },
  {
    name: 'persons',
    at: /\/form\/persons$/,
    fields: {
      'persons.0.family_name': 'Mustermann',
      'persons.0.given_names': 'Erika',
      'persons.0.sex': 'female',
      'persons.0.birth_date': '1964-08-12',
      'persons.0.birth_place': 'Berlin',
      'persons.0.german_citizen': 'yes',
      'persons.0.religion': 'none',
      'persons.0.marital_status': 'divorced',
      'persons.0.relation': 'first_person',
      'persons.0.id_document': 'id_card',
      'persons.0.id_number': 'T22000129',
      'persons.0.id_authority': 'Freie und Hansestadt Hamburg',
      'persons.0.id_issued_on': day(-2 * 365),
      'persons.0.id_valid_until': day(8 * 365),
    },
  },
  {
    name: 'landlord',
    at: /\/form\/landlord$/,
    fields: {
      landlord_confirmation: 'upload',
      landlord_confirmation_file: [{ name: UPLOAD, mimeType: 'application/pdf', buffer: PDF }],
    },
  },
];

describe('residence registration with an upload, from eID to the decision', { timeout: 180_000 }, () => {
  const { pages, step } = parties('residence', ['citizen', 'clerk']);
  const journey = {};

  before(() => {
    assert.ok(env.demo.nodes[NODE], `the demo prints the node ${NODE}`);
  });

  step('the citizen raises the level with the eID and reaches the form', async () => {
    const { citizen, clerk } = pages;
    const portal = env.demo.portal;
    await createAccount(citizen, portal, env.demo.dataDir, EMAIL);
    await signIn(citizen, portal, EMAIL);
    await citizen.goto(`${portal}/services/${RESIDENCE_REGISTRATION}/apply`);
    await expectAccessible(citizen, 'apply page');
    // Level `high` is needed: the form says so (403) and leads to the level page.
    const gate = await citizen.goto(`${portal}/services/${RESIDENCE_REGISTRATION}/form`);
    assert.equal(gate.status(), 403);
    await Promise.all([citizen.waitForURL(/\/account\/level\?return_to=/), citizen.getByRole('link', { name: 'Vertrauensniveau jetzt erhöhen' }).click()]);
    await Promise.all([citizen.waitForURL(/\/authorize\?/), citizen.getByRole('button', { name: 'Mit dem Online-Ausweis anmelden (eID)' }).click()]);
    await Promise.all([
      citizen.waitForURL(new RegExp(`/services/${RESIDENCE_REGISTRATION}/form/`)),
      citizen.getByRole('button', { name: /^Als Erika Mustermann anmelden/ }).click(),
    ]);
  });

  step('the citizen fills in every step, uploads the confirmation and submits', async () => {
    const { citizen, clerk } = pages;
    for (const s of STEPS) {
      assert.match(citizen.url(), s.at, `at the ${s.name} step: ${citizen.url()}`);
      await submitStep(citizen, s.fields, `${s.name} step`);
    }
    assert.match(citizen.url(), /\/review$/, `at the review: ${citizen.url()}`);
    const review = await citizen.locator('main').innerText();
    for (const shown of ['Ottenser Hauptstraße 10, 22765 Hamburg', 'Bahnhofstraße 5, 24103 Kiel', UPLOAD, 'Kundenzentrum Altona']) {
      assert.ok(review.includes(shown), `the review shows ${shown}`);
    }
    await expectAccessible(citizen, 'review page');
    journey.reference = await submitApplication(citizen);
    await expectAccessible(citizen, 'confirmation page');
  });

  step('the registration office opens the case with the upload and sends a decision', async () => {
    const { citizen, clerk } = pages;
    const node = env.demo.nodes[NODE];
    await signInClerk(clerk, node, CLERK);
    await until(`${journey.reference} in the inbox`, async () => {
      await clerk.goto(`${node}/back-office?q=${encodeURIComponent(journey.reference)}`);
      return (await clerk.getByRole('link', { name: journey.reference }).count()) > 0;
    });
    await Promise.all([clerk.waitForURL(/\/back-office\/cases\//), clerk.getByRole('link', { name: journey.reference }).click()]);
    const text = await clerk.locator('main').innerText();
    assert.ok(text.includes('Ottenser Hauptstraße') && text.includes(UPLOAD), 'the case shows the answers and the upload');
    const files = await clerk.locator(`main a:has-text("${UPLOAD}")`).evaluateAll((links) => links.map((a) => a.href));
    assert.ok(files.length >= 1, 'the upload is linked on the case page');
    const file = await clerk.context().request.get(files[0]);
    assert.equal(file.status(), 200);
    assert.equal((await file.body()).subarray(0, 5).toString(), '%PDF-', 'the uploaded PDF, decrypted at the node');
    await expectAccessible(clerk, 'case page');

    await clerk.locator('#kind-decision').check();
    await clerk.locator('#message-subject').fill(DECISION_SUBJECT);
    await clerk.locator('#message-text').fill('Ihre Anmeldung ist eingetragen; die Meldebestätigung liegt bei.');
    await clerk.locator('#message-decision').fill('Frau Erika Mustermann ist ab sofort in der Ottenser Hauptstraße 10 gemeldet.');
    await Promise.all([clerk.waitForLoadState('load'), clerk.locator('#message-form button[type="submit"]').click()]);
    assert.ok((await clerk.locator('#messages').innerText()).includes(DECISION_SUBJECT));
  });

  step('the citizen reads the decision in the Postfach', async () => {
    const { citizen, clerk } = pages;
    const portal = env.demo.portal;
    await until('the decision in the Postfach', async () => {
      await citizen.goto(`${portal}/account/mailbox`);
      return (await citizen.locator('main').innerText()).includes(DECISION_SUBJECT);
    });
    await Promise.all([citizen.waitForURL(/\/account\/mailbox\/[^/?]+$/), citizen.getByRole('link', { name: DECISION_SUBJECT }).click()]);
    assert.ok((await citizen.locator('main').innerText()).includes(journey.reference));
    await expectAccessible(citizen, 'decision in the Postfach');
  });
});
