/**
 * The dashboard's build: `vite build web` (the third step of `npm run build`)
 * writes static files to web/dist, which the server serves at `/`
 * (src/server/dashboard.ts). `base: './'` keeps asset URLs relative, so the
 * dashboard also works behind a reverse proxy under a sub-path.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';

/**
 * Writes `.br` and `.gz` next to each text asset, so a static server that
 * serves precompressed files (@fastify/static's `preCompressed`) sends the
 * first page's ~100 KB instead of its ~330 KB without compressing per request.
 */
function precompress(): Plugin {
  let outDir = '';
  return {
    name: 'switchyard-precompress',
    apply: 'build',
    configResolved(config) {
      outDir = resolve(config.root, config.build.outDir);
    },
    closeBundle() {
      const walk = (dir: string): string[] => readdirSync(dir).flatMap((name) => (statSync(join(dir, name)).isDirectory() ? walk(join(dir, name)) : [join(dir, name)]));
      for (const file of walk(outDir)) {
        if (!/\.(js|css|html|svg|json)$/.test(file) || statSync(file).size < 1024) continue;
        const data = readFileSync(file);
        writeFileSync(`${file}.gz`, gzipSync(data, { level: 9 }));
        writeFileSync(`${file}.br`, brotliCompressSync(data, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
      }
    },
  };
}

export default defineConfig({
  base: './',
  plugins: [react(), precompress()],
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
