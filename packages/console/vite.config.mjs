import { defineConfig } from "vite";

// The console is served under /console/ by the platform (npm start) and by the deployment's router.
export default defineConfig({
  base: "/console/",
  resolve: {
    // The SDK's sources, as tsc and the tests read them (its package exports a dist/ built at pack time).
    conditions: ["inferencekey-source", "browser", "module", "import", "default"],
  },
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    target: "es2022",
    // No inline script or style anywhere: the Content-Security-Policy allows only 'self'.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    cssCodeSplit: false,
    sourcemap: false,
    reportCompressedSize: false,
  },
});
