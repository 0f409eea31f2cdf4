// Bundles the web console (src/console) into dist/console with esbuild: one script, one style
// sheet and the page, all served by the service itself, so nothing is fetched from elsewhere at
// run time. Part of `npm run build`.
import { copyFile, mkdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const out = path.join(root, "dist/console");

await mkdir(out, { recursive: true });
await build({
  absWorkingDir: root,
  entryPoints: { app: "src/console/main.ts" },
  outdir: out,
  bundle: true,
  format: "esm",
  // Browsers of the last few years; what the page uses (fetch streams, color-mix) needs no more.
  target: ["chrome111", "firefox113", "safari16.2"],
  minify: true,
  sourcemap: true,
  legalComments: "linked",
  logLevel: "warning",
});
await copyFile(path.join(root, "src/console/index.html"), path.join(out, "index.html"));
