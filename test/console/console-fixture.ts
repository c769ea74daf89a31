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
  let context: BrowserContext | undefined;
  try {
    context = await chromium.launchPersistentContext(join(dir, 'profile'), {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 900 },
    });
  } catch (err) {
    await api.close();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const page: Page = context.pages()[0] ?? (await context.newPage());
  await mkdir(ARTIFACTS, { recursive: true });
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(String(err)));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/status of (4\d\d|501)/.test(msg.text())) errors.push(msg.text());
  });
  const screenshot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  const close = async () => {
    await context?.close();
    await api.close();
    await rm(dir, { recursive: true, force: true });
  };
  return { ...api, page, errors, screenshot, close };
}
