#!/usr/bin/env node
// Installed entry of the `cloudkeep` command; the program itself is TypeScript run by Node 24.
import { main } from '../cli/main.ts';

process.exitCode = await main(process.argv);
