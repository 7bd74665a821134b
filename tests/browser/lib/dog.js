// The dog registration (a flagship service at level `basic`), step by step through the pages
// and without JavaScript. Shared by the suites that need a submitted application.

import assert from 'node:assert/strict';
import { expectAccessible } from './accessible.js';

export const DOG_REGISTRATION = '99110009104000';

/** The answers of each step, in order, with the URL the step is at. */
export const DOG_STEPS = [
  {
    name: 'owner step',
    at: /\/form\/owner$/,
    fields: {
      'owner_name.given_names': 'Erika',
      'owner_name.family_name': 'Mustermann',
      owner_birth_date: '1964-08-12',
      'owner_address.street': 'Kirchenallee',
      'owner_address.house_number': '1',
      'owner_address.postcode': '20099',
      'owner_address.city': 'Hamburg',
    },
  },
  {
    name: 'dog step',
    at: /\/form\/dog$/,
    fields: {
      dog_name: 'Bello',
      dog_sex: 'male',
      breed: 'other',
      breed_description: 'Labrador-Mischling',
      dog_birth_date: '2024-01-15',
      shoulder_height: '55',
      chip_number: '276098106543210',
      keeping_since: '2024-04-01',
    },
  },
  {
    name: 'insurance step',
    at: /\/form\/insurance$/,
    fields: {
      insurer: 'Hanseatische Tierhalter-Versicherung',
      policy_number: 'TH-2024-77812',
      insurance_meets_minimum: 'yes',
    },
  },
];

/** From the service's apply page to the first step (`Antrag online starten`). */
export async function startDogRegistration(page, portal) {
  await page.goto(`${portal}/services/${DOG_REGISTRATION}/apply`);
  await Promise.all([page.waitForURL(/\/form\/owner$/), page.getByRole('link', { name: 'Antrag online starten' }).click()]);
  assert.match(await page.locator('h1').innerText(), /\S/);
}

/**
 * Fills in one step, checks it with axe, and goes on (`Weiter`). A value is typed, ticked (radio
 * buttons, check boxes), chosen (a select) or, for a file field, a list of
 * `{name, mimeType, buffer}` to upload.
 */
export async function submitStep(page, fields, what) {
  for (const [name, value] of Object.entries(fields)) {
    const input = page.locator(`[name="${name}"]`);
    assert.ok((await input.count()) > 0, `${what}: a field named ${name}`);
    const tag = await input.first().evaluate((el) => el.tagName.toLowerCase());
    const type = await input.first().getAttribute('type');
    if (type === 'radio' || type === 'checkbox') {
      await page.locator(`[name="${name}"][value="${value}"]`).check();
    } else if (type === 'file') {
      await input.setInputFiles(value);
    } else if (tag === 'select') {
      await input.selectOption(value);
    } else {
      await input.fill(value);
    }
  }
  await expectAccessible(page, what);
  await Promise.all([page.waitForLoadState('load'), page.locator('.form-actions button[value="next"]').click()]);
}

/** Answers every step of DOG_STEPS from the owner step on; ends at the review page. */
export async function answerDogRegistration(page) {
  for (const step of DOG_STEPS) {
    assert.match(page.url(), step.at, `at the ${step.name}: ${page.url()}`);
    await submitStep(page, step.fields, step.name);
  }
  assert.match(page.url(), /\/review$/, `no dangerous-dog step for a Labrador: ${page.url()}`);
}

/** On the review page: ticks the declaration and submits; returns the application's reference. */
export async function submitApplication(page) {
  await page.locator('#declaration').check();
  await Promise.all([page.waitForURL(/\/applications\/[A-Z0-9-]+$/), page.getByRole('button', { name: 'Antrag verbindlich absenden' }).click()]);
  return page.url().split('/').pop();
}
