// Headless Debian Chromium for the web tests and bench: launch with a fresh profile, screenshots, layout checks.
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { repoRoot } from '../../support/env.js';

export const chromiumPath = process.env.PICTOGRAPH_CHROMIUM ?? '/usr/bin/chromium';
export const screenshotsDir = join(repoRoot, 'test-artifacts', 'screenshots');

export function haveChromium(): boolean {
  return existsSync(chromiumPath);
}

export interface Chromium {
  context: BrowserContext;
  /** A new tab with the given viewport size. */
  newPage(width: number, height: number): Promise<Page>;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<Chromium> {
  const profile = mkdtempSync(join(tmpdir(), 'pictograph-chromium-'));
  // A fresh --user-data-dir per run (playwright passes it from the persistent-context argument).
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    async newPage(width, height) {
      const page = await context.newPage();
      await page.setViewportSize({ width, height });
      return page;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(screenshotsDir, { recursive: true });
  const file = join(screenshotsDir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  return file;
}

/** How far the page is wider than its viewport (0 = no horizontal overflow). */
export async function horizontalOverflow(page: Page): Promise<number> {
  return page.evaluate(() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth) - window.innerWidth);
}

/** Collects uncaught page errors and Content-Security-Policy refusals so a test can assert there were none. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) errors.push(`csp: ${m.text()}`);
  });
  return errors;
}

/** Starts a Fastify app on 127.0.0.1 (PICTOGRAPH_E2E_PORT, else any free port); its base URL. */
export async function listenLocally(app: { listen(o: { port: number; host: string }): Promise<unknown>; server: { address(): AddressInfo | string | null } }): Promise<string> {
  await app.listen({ port: Number(process.env.PICTOGRAPH_E2E_PORT ?? 0), host: '127.0.0.1' });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('no TCP address');
  return `http://127.0.0.1:${address.port}`;
}

/** Signs in through the header's form with an API token, as a person would, and waits until it shows who. */
export async function signIn(page: Page, base: string, token: string): Promise<void> {
  await page.goto(base + '/');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByLabel('API token').fill(token);
  await submitSignIn(page);
}

/**
 * Submits the header's sign-in form with a valid token and waits for the page the app reloads into: the header
 * shows who before the reload, so a test that went on at once could act on the page being replaced.
 */
export async function submitSignIn(page: Page): Promise<void> {
  await Promise.all([page.waitForEvent('load'), page.locator('form.signin-form button[type=submit]').click()]);
  await page.getByTestId('signed-in-as').waitFor();
}
