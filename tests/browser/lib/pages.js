// The pages every suite looks at. `path` is relative to the portal (or, with `node: true`, to the
// first authority node); the suites add `lang=` themselves.

import { existsSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './demo.js';

export const HAS_CATALOGUE = existsSync(path.resolve(REPO_ROOT, '../shared/fixtures/leika/leistungen.csv'));

export const RESIDENCE_REGISTRATION = '99115005104000';

export const PAGES = [
  { name: 'start', path: '/' },
  { name: 'search', path: '/search?q=hund' },
  { name: 'search-filtered', path: '/search?q=ummeldung&life_situation=moving' },
  { name: 'search-no-results', path: '/search?q=xyzzy' },
  { name: 'life-situations', path: '/life-situations' },
  { name: 'life-situation', path: '/life-situations/moving' },
  { name: 'life-situation-page-2', path: '/life-situations/moving?page=2' },
  { name: 'service', path: `/services/${RESIDENCE_REGISTRATION}` },
  { name: 'service-finder-found', path: `/services/${RESIDENCE_REGISTRATION}?postcode=22765` },
  { name: 'service-finder-error', path: `/services/${RESIDENCE_REGISTRATION}?postcode=abc` },
  // A row of the national catalogue without a hand-written definition (needs the catalogue file).
  { name: 'service-catalogue-only', path: '/services/99001001000000', needsCatalogue: true },
  { name: 'apply', path: `/services/${RESIDENCE_REGISTRATION}/apply` },
  { name: 'imprint', path: '/imprint' },
  { name: 'privacy', path: '/privacy' },
  { name: 'accessibility', path: '/accessibility' },
  { name: 'register', path: '/account/register' },
  { name: 'check-mail', path: '/account/check-mail' },
  { name: 'sign-in', path: '/account/sign-in' },
  { name: 'signed-out', path: '/account/signed-out' },
  { name: 'forgot', path: '/account/forgot' },
  { name: 'forgot-sent', path: '/account/forgot/sent' },
  { name: 'not-found', path: '/no-such-page', status: 404 },
  { name: 'authority-node', path: '/', node: true },
].filter((p) => HAS_CATALOGUE || !p.needsCatalogue);

/** The main pages, for the reflow checks and the documentation screenshots. */
export const MAIN_PAGES = PAGES.filter((p) =>
  ['start', 'search', 'search-filtered', 'life-situation', 'service-finder-found', 'service-finder-error', 'apply'].includes(p.name),
);

export const LANGS = ['de', 'en'];
