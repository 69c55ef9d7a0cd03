#!/usr/bin/env node
// Thin executable: everything lives in the compiled CLI so this file never needs a TS loader.
import { main } from '../dist/cli/main.js';

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
