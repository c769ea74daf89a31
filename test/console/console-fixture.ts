// The console end to end: a Vite build into a temp dir, the API fixture's server serving it, and Chromium.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { build } from 'vite';
import { MemorySessionLog } from '../../functions/api/session-log.ts';
import { startApi } from '../api/api-fixture.ts';
import { FixedInventory, FixedSnapshots, RecordingRunner } from '../api/fakes.ts';

export const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/console/', import.meta.url));

/** Chromium flags for this machine (shared/docs/TEST-INFRA.md). */
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-dev-shm-usage', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Builds console/ with its vite.config.ts into outDir. */
export async function buildConsole(outDir: string): Promise<void> {
  await build({ configFile: fileURLToPath(new URL('../../console/vite.config.ts', import.meta.url)), build: { outDir, emptyOutDir: true }, logLevel: 'warn' });
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Page errors and console errors other than failed 4xx/501 requests, as they happen. */
  errors: string[];
  /** A full-page screenshot to test-artifacts/console/<name>.png. */
  screenshot(name: string): Promise<Buffer>;
}

/** Chromium (TEST-INFRA flags) with a fresh profile in `profileDir`, one page, its errors collected. */
export async function openBrowser(profileDir: string): Promise<Browser> {
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 900 },
  });
  const page: Page = context.pages()[0] ?? (await context.newPage());
  await mkdir(ARTIFACTS, { recursive: true });
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(String(err)));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/status of (4\d\d|501)/.test(msg.text())) errors.push(msg.text());
  });
  const screenshot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  return { context, page, errors, screenshot };
}

export async function startConsole() {
  const dir = await mkdtemp(join(tmpdir(), 'cloudkeep-console-'));
  const staticDir = join(dir, 'site');
  await buildConsole(staticDir);
  const api = await startApi({
    staticDir,
    deps: (store) => {
      const sessionLog = new MemorySessionLog();
      return { inventory: new FixedInventory(), runner: new RecordingRunner(store, sessionLog), snapshots: new FixedSnapshots(), sessionLog };
    },
  });
  let browser: Browser;
  try {
    browser = await openBrowser(join(dir, 'profile'));
  } catch (err) {
    await api.close();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const close = async () => {
    await browser.context.close();
    await api.close();
    await rm(dir, { recursive: true, force: true });
  };
  return { ...api, page: browser.page, errors: browser.errors, screenshot: browser.screenshot, close };
}
