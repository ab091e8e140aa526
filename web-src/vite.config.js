import { defineConfig } from "vite";

// The node serves ../web as static files; assets are referenced relatively.
export default defineConfig({
  base: "./",
  build: { outDir: "../web", emptyOutDir: true, chunkSizeWarningLimit: 2000 },
});
