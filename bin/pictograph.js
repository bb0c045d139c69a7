#!/usr/bin/env -S GLIBC_TUNABLES=glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=131072 node --max-semi-space-size=4
// Entry point of the `pictograph` command: runs the compiled CLI (built by `npm ci` via `prepare`).
// Runtime settings for memory (measured with `serve` under 8 concurrent 6 MB camera photos, bench "overload"):
// a 4 MB young generation (Node's default grows to 16 MB per semi-space) and two malloc arenas (glibc makes
// up to 8 per core for the decode and inference threads, each keeping freed memory) took the server's idle
// RSS from ~270 to ~220 MB and its peak from ~395 to ~340 MB at the same throughput.
import('../dist/cli/main.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli/main.js')) {
    console.error('pictograph: the build is missing; run `npm ci` (or `npm run build`) first.');
    process.exit(1);
  }
  throw err;
});
