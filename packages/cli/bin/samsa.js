#!/usr/bin/env node
// The `samsa` command. A committed file rather than dist/main.js itself, so that `npm ci` links
// the bin before the first build (npm does not link a bin whose file does not exist yet).
await import('../dist/main.js')
