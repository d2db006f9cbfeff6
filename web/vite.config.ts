// Builds the UI into dist/, which web/embed.go embeds into the binary.
// `npm run dev` proxies the API to a running `tunelab serve` admin
// address (TUNELAB_ADMIN, default 127.0.0.1:8081).
import { defineConfig } from 'vite';

const admin = process.env.TUNELAB_ADMIN ?? '127.0.0.1:8081';

export default defineConfig({
  oxc: { jsx: { runtime: 'automatic' } },
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 600,
  },
  server: { proxy: { '/api': `http://${admin}` } },
});
