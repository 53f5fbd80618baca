import { defineConfig } from "vite";

// Built into dist/console, which the server serves under /console (src/platform/server/console-assets.ts).
// Preact's automatic JSX runtime; no plugin needed for a page without hot reload in production.
export default defineConfig({
  root: import.meta.dirname,
  base: "/console/",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: "../dist/console",
    emptyOutDir: true,
    // The server compresses and caches by content hash; one small script is fastest to load.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    reportCompressedSize: true,
  },
  server: { proxy: { "/tollgate.v1": "http://127.0.0.1:8080" } },
});
