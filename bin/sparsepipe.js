#!/usr/bin/env node
// The `sparsepipe` command: runs the compiled package (dist/, built by `npm run build`,
// which `npm install` in a clone and `npm pack` run). During development,
// `npm run train -- …` or `npx tsx src/cli/main.ts …` runs the TypeScript sources instead.
let main;
try {
  ({ main } = await import('../dist/src/cli/main.js'));
} catch (error) {
  if (
    error?.code !== 'ERR_MODULE_NOT_FOUND' ||
    !String(error.message).includes('dist/src/cli/main.js')
  )
    throw error;
  process.stderr.write(
    'sparsepipe: the compiled package is missing (dist/src/cli/main.js); run `npm run build` in the sparsepipe checkout\n',
  );
  process.exit(1);
}
process.exitCode = await main(process.argv.slice(2));
