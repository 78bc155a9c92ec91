#!/usr/bin/env node
// The `legate` command. npm puts the project's Node 26 (the `node` package) first
// on PATH for `npm start`, `npm test` and `npx legate`; TypeScript runs natively.
// The compile cache keeps the stripped TypeScript and V8's code between runs, which
// roughly halves start-up (node_modules/.cache, or the OS temp dir).
import module from 'node:module';

module.enableCompileCache?.();
await import('../src/exe/main.ts');
