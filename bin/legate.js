#!/usr/bin/env node
// The `legate` command. npm puts the project's Node 26 (the `node` package) first
// on PATH for `npm start`, `npm test` and `npx legate`; TypeScript runs natively.
import '../src/exe/main.ts';
