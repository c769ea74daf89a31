#!/usr/bin/env node
// Installed entry of the `cloudkeep` command: runs the compiled program (npm run build, run by npm install).
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv);
