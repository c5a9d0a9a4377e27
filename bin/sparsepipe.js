#!/usr/bin/env node
// The `sparsepipe` command. The package ships TypeScript sources; tsx (a runtime
// dependency) compiles them on the fly so `npx sparsepipe …` works without a build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
