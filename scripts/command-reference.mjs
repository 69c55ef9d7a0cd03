#!/usr/bin/env node
// Rewrites the README's command reference from the built CLI's registry (run `npm run build` first;
// `npm run docs:commands` does both). test/reliability/readme-reference.test.ts checks it is current.
import { readFileSync, writeFileSync } from 'node:fs';
import { commandReference, withReference } from '../dist/cli/reference.js';

const path = new URL('../README.md', import.meta.url);
writeFileSync(path, withReference(readFileSync(path, 'utf8'), await commandReference()));
