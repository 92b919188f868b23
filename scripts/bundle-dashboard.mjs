#!/usr/bin/env node
// Builds the dashboard's front-end (src/dashboard/ui: Preact, type-checked by
// tsconfig.dashboard.json) into dist/dashboard/: one script, one stylesheet
// and the page, served by src/dashboard/server.ts. Nothing is fetched from
// anywhere else at run time.
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const root = join(import.meta.dirname, '..');
const ui = join(root, 'src', 'dashboard', 'ui');
const outdir = join(root, 'dist', 'dashboard');

rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });
await build({
  entryPoints: { app: join(ui, 'main.tsx') },
  outdir,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['chrome120', 'firefox120', 'safari17'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
});
for (const file of ['index.html', 'app.css']) copyFileSync(join(ui, file), join(outdir, file));
