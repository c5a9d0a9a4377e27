import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const source = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  // Tests (and the examples they import) use the TypeScript sources for 'sparsepipe', like
  // tsconfig.json's paths; the compiled package is tested through npm pack (test/package).
  resolve: {
    alias: [
      { find: /^sparsepipe\/testing$/, replacement: source('./src/testing.ts') },
      { find: /^sparsepipe$/, replacement: source('./src/index.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    // Tests that spawn `bin/sparsepipe.js` run the compiled package: build it if stale.
    globalSetup: ['test/global-build.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
