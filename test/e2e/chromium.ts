/**
 * The headless Chromium the browser tests drive (Debian `chromium` through playwright-core,
 * never a downloaded browser): where it is, whether it is installed, and the flags that keep
 * it offline and quiet. A test that needs it skips, saying why, when it is absent.
 *
 * @example
 * describe.skipIf(!chromiumAvailable('inspector e2e'))('…', () => { chromium.launch(chromiumLaunchOptions()); });
 */
import { existsSync } from 'node:fs';

export const CHROMIUM = '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** True when Chromium is installed; otherwise logs that `suite` is skipped and why. */
export function chromiumAvailable(suite: string): boolean {
  const ok = existsSync(CHROMIUM);
  if (!ok)
    console.log(
      `[${suite}] skipped: ${CHROMIUM} not found (install it with \`apt-get install -y chromium\`)`,
    );
  return ok;
}

export function chromiumLaunchOptions(): { executablePath: string; args: string[] } {
  return { executablePath: CHROMIUM, args: [...CHROMIUM_ARGS] };
}
