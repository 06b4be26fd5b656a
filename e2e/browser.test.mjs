// Browser test of facegate's page: set the admin password with the setup
// code, log in, register 김민수 from a photo in one page, see the name appear
// in a second page (another browser context, like a second phone) without
// reload, delete it there, see it vanish in the first. Screenshots of both
// pages are kept in $FACEGATE_ARTIFACTS when a step fails.
import { chromium } from 'playwright-core';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const base = process.env.FACEGATE_URL.replace(/\/$/, '');
const setupCode = process.env.FACEGATE_SETUP_CODE || '';
const password = process.env.FACEGATE_ADMIN_PASSWORD || 'e2e-password-1';
const testdata = process.env.FACEGATE_TESTDATA;
const artifacts = process.env.FACEGATE_ARTIFACTS;
const NAME = '김민수';
const STEP_TIMEOUT = 15000;

// The first single-face photo of the manifest.
function facePhoto() {
  const rows = readFileSync(join(testdata, 'faces', 'MANIFEST.tsv'), 'utf8').trim().split('\n').slice(1);
  for (const row of rows) {
    const [, file, kind] = row.split('\t');
    if (kind === 'face') return join(testdata, 'faces', file);
  }
  throw new Error('no face photo in MANIFEST.tsv');
}

// Flags from ../shared/notes/WEBRTC.md: the page sends Chromium's built-in
// fake camera (no face) over WebRTC where the server offers it; this test
// does not look at video (scripts/e2e-webrtc.sh does). Playwright gives
// the browser a fresh temporary profile itself.
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
    '--allow-loopback-in-peer-connection',
  ],
});

const pages = {};
let step = 'start';
const log = (s) => console.log(`e2e: ${s}`);

async function newPage(label, phone = false) {
  // Self-signed certificate of the device: accepted for this test only.
  // Page b is phone-sized: the page must work there too.
  const ctx = await browser.newContext({
    ignoreHTTPSErrors: true, locale: 'ko-KR',
    ...(phone ? { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true } : {}),
  });
  const page = await ctx.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT);
  page.on('pageerror', (e) => log(`${label}: page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') log(`${label}: console: ${m.text()}`); });
  page.on('dialog', (d) => d.accept()); // the delete confirmation
  pages[label] = page;
  return page;
}

async function login(page) {
  await page.goto(`${base}/login`);
  await page.fill('#login-password', password);
  await page.click('button[type=submit]');
  await page.waitForURL(`${base}/`);
  await page.waitForSelector('#conn.on'); // the event stream is open
}

// navigations counts main-frame navigations, to prove "without reload".
function navigations(page) {
  let n = 0;
  page.on('framenavigated', (f) => { if (f === page.mainFrame()) n++; });
  return () => n;
}

const personItem = (page) => page.locator('#people li.person', { has: page.locator('.name', { hasText: NAME }) });

let failed = false;

// shots keeps screenshots of both pages when FACEGATE_E2E_SHOTS=1 (to look
// at the layout); failures always keep them.
async function shots(name) {
  if (process.env.FACEGATE_E2E_SHOTS !== '1') return;
  mkdirSync(artifacts, { recursive: true });
  for (const [label, page] of Object.entries(pages)) {
    await page.screenshot({ path: join(artifacts, `e2e-${name}-${label}.png`), fullPage: true });
  }
}
try {
  step = 'setup';
  const a = await newPage('a');
  if (setupCode) {
    await a.goto(`${base}/`);
    await a.waitForURL(`${base}/setup`);
    await a.fill('#setup-code', setupCode);
    await a.fill('#setup-password', password);
    await a.fill('#setup-password2', password);
    await a.click('button[type=submit]');
    await a.waitForURL(`${base}/login`);
    log('admin password set with the setup code');
  }

  step = 'login';
  await login(a);
  const b = await newPage('b', true);
  await login(b);
  const bNavs = navigations(b);
  const aNavs = navigations(a);
  log('two pages logged in');

  step = 'register';
  await a.fill('#reg-name', NAME);
  await a.setInputFiles('#reg-photos', facePhoto());
  await a.click('#reg-upload');
  await a.locator('#toast', { hasText: NAME }).waitFor();
  await personItem(a).waitFor();
  log(`registered ${NAME} in page a`);

  step = 'appears in b';
  await personItem(b).waitFor();
  await shots('registered');
  if (bNavs() !== 0) throw new Error(`page b reloaded ${bNavs()} times`);
  log(`${NAME} appeared in page b without reload`);

  step = 'delete in b';
  await personItem(b).locator('button.pick').click();
  await b.click('#person-delete');
  await personItem(b).waitFor({ state: 'detached' });

  step = 'vanishes in a';
  await personItem(a).waitFor({ state: 'detached' });
  if (aNavs() !== 0) throw new Error(`page a reloaded ${aNavs()} times`);
  log(`${NAME} deleted in page b and gone from page a`);
} catch (e) {
  failed = true;
  console.error(`e2e: FAILED at step "${step}": ${e.message}`);
  mkdirSync(artifacts, { recursive: true });
  for (const [label, page] of Object.entries(pages)) {
    const file = join(artifacts, `e2e-${step.replace(/\W+/g, '-')}-${label}.png`);
    try {
      await page.screenshot({ path: file, fullPage: true });
      console.error(`e2e: screenshot ${file}`);
    } catch (err) {
      console.error(`e2e: no screenshot of ${label}: ${err.message}`);
    }
  }
} finally {
  await browser.close();
}
if (failed) process.exit(1);
log('PASS');
