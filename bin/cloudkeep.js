#!/usr/bin/env node
// Installed entry of the `cloudkeep` command: runs the compiled program (npm run build, run by npm install).
import { enableCompileCache } from 'node:module';

// V8's code cache on disk (under the temp directory): later runs skip compiling the modules again.
enableCompileCache?.();
const { main } = await import('../dist/cli/main.js');
process.exitCode = await main(process.argv);
