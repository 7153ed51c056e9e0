// Builds the web dashboard (run by services/dashboard/CMakeLists.txt at build time):
//   node build.mjs OUT_DIR MAX_GZIP_BYTES
// Bundles src/main.js and src/app.css with esbuild (pinned in package-lock.json; `npm ci` here
// first: scripts/plumb does it before every build), gzips each bundle (level 9, no name or time
// in the header, so the output is reproducible), fails when the gzipped total is over its
// budget, and writes OUT_DIR/{index.html, app.js, app.js.gz, app.css, app.css.gz} only when
// every step succeeded. The dashboard serves the bundles under content-hashed names.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const [outDir, budgetText] = process.argv.slice(2);
const budget = Number(budgetText);
if (!outDir || !Number.isInteger(budget) || budget <= 0) {
  console.error('usage: node build.mjs OUT_DIR MAX_GZIP_BYTES');
  process.exit(2);
}
const here = dirname(fileURLToPath(import.meta.url));
let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  console.error(`esbuild is not installed. Install the web dashboard's pinned build tools first: ` +
                `npm ci --prefix ${here}\n(scripts/plumb up and scripts/plumb test do this before they build).`);
  process.exit(1);
}

const bundle = (entry, options) =>
  esbuild.buildSync({
    entryPoints: [join(here, 'src', entry)],
    bundle: true,
    minify: true,
    write: false,
    legalComments: 'none',
    logLevel: 'error',
    ...options,
  }).outputFiles[0].contents;

// ES2020: every browser the dashboard supports (module scripts, optional chaining).
const outputs = {
  'app.js': bundle('main.js', { format: 'esm', target: 'es2020' }),
  'app.css': bundle('app.css', { loader: { '.css': 'css' }, target: 'chrome90' }),
};
let gzipped = 0;
const files = { 'index.html': readFileSync(join(here, 'index.html')) };
for (const [name, bytes] of Object.entries(outputs)) {
  const gz = gzipSync(bytes, { level: 9 });
  files[name] = bytes;
  files[`${name}.gz`] = gz;
  gzipped += gz.length;
  console.log(`web dashboard: ${name} ${bytes.length} bytes, ${gz.length} gzipped`);
}
if (gzipped > budget) {
  console.error(`web dashboard over its size budget: ${gzipped} bytes gzipped, the budget is ` +
                `${budget}. Make the bundle smaller (services/dashboard/web/src).`);
  process.exit(1);
}
mkdirSync(outDir, { recursive: true });
for (const [name, bytes] of Object.entries(files)) {
  writeFileSync(join(outDir, `${name}.tmp`), bytes);
}
for (const name of Object.keys(files)) {
  renameSync(join(outDir, `${name}.tmp`), join(outDir, name));
}
console.log(`web dashboard: ${gzipped} bytes gzipped in all (budget ${budget})`);
