/**
 * The dashboard's build: `vite build web` (the third step of `npm run build`)
 * writes static files to web/dist, which the server serves at `/`
 * (src/server/dashboard.ts). `base: './'` keeps asset URLs relative, so the
 * dashboard also works behind a reverse proxy under a sub-path.
 */
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  base: './',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // Numbers for the size budget (issue 6: under 300 KB of gzipped JS for the first page).
    reportCompressedSize: true,
  },
  server: {
    // `npx vite web` during development, with the API of a running `switchyard up`.
    proxy: {
      '/api': { target: process.env.SWITCHYARD_URL ?? 'http://127.0.0.1:8080', ws: true },
    },
  },
});
