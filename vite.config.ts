// Vite build of the web app (src/web/app -> dist/web), served by `pictograph serve` at `/`.
import { defineConfig } from 'vite';
import preact from '@preact/preset-vite';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('./src/web/app', import.meta.url));
const outDir = fileURLToPath(new URL('./dist/web', import.meta.url));

export default defineConfig({
  root,
  base: '/',
  plugins: [preact()],
  logLevel: 'warn',
  build: { outDir, emptyOutDir: true, target: 'es2022', sourcemap: false },
  server: {
    // `PICTOGRAPH_API=http://127.0.0.1:8080 npx vite --config vite.config.ts` for development against a running server.
    proxy: { '/v1': process.env.PICTOGRAPH_API ?? 'http://127.0.0.1:8080' },
  },
});
