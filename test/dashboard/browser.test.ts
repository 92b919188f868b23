/**
 * The dashboard in a real browser (Debian's chromium, driven by
 * playwright-core): sign in with the token, see the plugins, run a command
 * and read its output, revoke a capability and watch the next call's denial
 * arrive live in the audit page, render widgets and see that a widget's
 * script cannot reach the page (nor run at all), and watch a plugin reload
 * after its file changes. Screenshots of each step go to test-results/dashboard/.
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium as playwright, type Browser, type Page } from 'playwright-core';
import { chromium, repo } from '../support/peers.js';
import { dashboardFixture, TOKEN, writeReader, type Fixture } from './support.js';

const browserFound = chromium();
const skip = 'skip' in browserFound ? browserFound.skip : false;
const shots = join(repo, 'test-results', 'dashboard');
let f: Fixture;
let browser: Browser;

before(async () => {
  if (skip || 'skip' in browserFound) return;
  mkdirSync(shots, { recursive: true });
  f = await dashboardFixture();
  // Root in a container: chromium's own sandbox needs user namespaces it may not have.
  browser = await playwright.launch({ executablePath: browserFound.executable, args: ['--no-sandbox'], timeout: 60_000 });
});
after(async () => {
  await browser?.close();
  await f?.close();
});

async function signedIn(): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(`${f.base}/`);
  await page.fill('input[name=token]', TOKEN);
  await page.click('button:has-text("Sign in")');
  await page.waitForSelector('table.plugins tr[data-plugin=reader]');
  return page;
}

const shot = (page: Page, name: string) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });

it('signs in with the token, lists the plugins and runs a command with its output', { skip }, async () => {
  const page = await browser.newPage();
  await page.goto(`${f.base}/`);
  assert.match(await page.textContent('body') ?? '', /Dashboard token/);
  await page.fill('input[name=token]', 'not-the-token-at-all');
  await page.click('button:has-text("Sign in")');
  assert.match(await page.textContent('body') ?? '', /Dashboard token/, 'a wrong token does not get in');
  await page.close();

  const signed = await signedIn();
  const row = signed.locator('tr[data-plugin=reader]');
  assert.equal(await row.locator('td.status').textContent(), 'running');
  await shot(signed, '1-plugins');
  await row.locator('a').click();
  const form = signed.locator('form[data-command=read]');
  await form.locator('input[name=path]').fill('hello.txt');
  await form.locator('button').click();
  await form.locator('.outcome').waitFor();
  assert.equal(await form.locator('pre.output').textContent(), 'hello from the workspace\n');
  assert.match((await form.locator('.outcome').textContent()) ?? '', /exit code 0/);
  await shot(signed, '2-command');
  await signed.close();
});

it('a revoked capability: the next call is denied, and the denial appears live in the audit page', { skip }, async () => {
  const audit = await signedIn();
  await audit.goto(`${f.base}/#/audit`);
  await audit.selectOption('select[name=decision]', 'deny');
  await audit.waitForSelector('table.audit');

  const caps = await signedIn();
  await caps.goto(`${f.base}/#/capabilities`);
  const reader = caps.locator('.capabilities[data-plugin=reader]');
  await reader.locator('li[data-capability="fs.read:**"] button').click();
  await reader.locator('li[data-capability="fs.read:**"]').waitFor({ state: 'detached' });
  assert.deepEqual(f.manager.policy.effective('reader'), ['http.route:**']);
  await shot(caps, '3-revoked');

  await caps.goto(`${f.base}/#/plugins/reader`);
  const form = caps.locator('form[data-command=read]');
  await form.locator('input[name=path]').fill('hello.txt');
  await form.locator('button').click();
  await form.locator('.outcome.error').waitFor();
  assert.match((await form.locator('.outcome').textContent()) ?? '', /denied|not allowed|PERMISSION/i);

  // The audit page was open all along: the denial arrived by itself.
  const denial = audit.locator('table.audit tr.deny', { hasText: 'hello.txt' });
  await denial.first().waitFor({ timeout: 10_000 });
  assert.match((await denial.first().textContent()) ?? '', /reader.*fs\.read.*hello\.txt.*deny/);
  await shot(audit, '4-audit-live');
  await caps.locator('header a', { hasText: 'Capabilities' }).click();
  await caps.locator('.capabilities[data-plugin=reader] input[name=capability]').fill('fs.read:**');
  await caps.locator('.capabilities[data-plugin=reader] button:has-text("Grant")').click();
  await caps.locator('.capabilities[data-plugin=reader] li[data-capability="fs.read:**"]').waitFor();
  await audit.close();
  await caps.close();
});

it("widgets render in sandboxed frames, and a widget's script neither runs nor reaches the page", { skip }, async () => {
  const page = await signedIn();
  await page.goto(`${f.base}/#/widgets`);
  const status = page.frameLocator('figure[data-widget="reader/status"] iframe').locator('#status');
  assert.match((await status.textContent({ timeout: 10_000 })) ?? '', /^reader version \d is up$/);
  await shot(page, '5-widgets');

  await page.goto(`${f.base}/#/plugins/reader`);
  const sneaky = page.frameLocator('figure[data-widget="reader/sneaky"] iframe');
  assert.equal(await sneaky.locator('#sneaky').textContent({ timeout: 10_000 }), 'harmless text');
  const frame = page.frames().find((fr) => fr.url().endsWith('/plugins/reader/widgets/sneaky'));
  assert.ok(frame, 'the widget frame loaded');
  assert.equal(await frame.evaluate('document.body.getAttribute("data-ran")'), null, 'the script inside the widget did not run');
  assert.equal(await page.evaluate('document.body.getAttribute("data-pwned")'), null, 'nothing reached the page');
  assert.equal(await page.locator('figure[data-widget="reader/sneaky"] iframe').getAttribute('sandbox'), '');
  await shot(page, '6-plugin-widgets');
  await page.close();
});

it('a plugin whose file changes reloads, and the page shows it without being refreshed', { skip }, async () => {
  const page = await signedIn();
  const before = f.manager.info('reader')?.pid;
  writeReader(f.pluginsDir, 2);
  await page.locator('ul.reloads li', { hasText: 'reader reloaded' }).waitFor({ timeout: 30_000 });
  const row = page.locator('tr[data-plugin=reader]');
  await row.locator('td', { hasText: '2.0.0' }).waitFor();
  assert.notEqual(f.manager.info('reader')?.pid, before);
  assert.equal(f.manager.info('reader')?.reloads, 1);
  await shot(page, '7-reloaded');
  await page.close();
});
