#!/usr/bin/env node
// Entry point of the `pictograph` command: runs the compiled CLI (built by `npm ci` via `prepare`).
import('../dist/cli/main.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli/main.js')) {
    console.error('pictograph: the build is missing; run `npm ci` (or `npm run build`) first.');
    process.exit(1);
  }
  throw err;
});
