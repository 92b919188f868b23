#!/usr/bin/env node
// npm runs `prepare` when this checkout is installed (npm install here), and also when another project
// links it as a `file:` dependency: the projects `hst new` makes from a checkout, and the tests that make
// them. Those must not rebuild the checkout: it is built already, and a rebuild rewrites dist/ and the
// example plugins' bundles under whatever is using them (a test suite running beside it saw a plugin's
// bundle replaced by tsc's unbundled output). So the build runs only when npm was started in this
// directory or below it.
import { spawnSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { sep } from 'node:path';

const real = (path) => {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
};
const here = real(process.cwd());
const started = process.env.INIT_CWD ? real(process.env.INIT_CWD) : here;
if (started !== here && !started.startsWith(here + sep)) {
  console.log(`hst: installed as a dependency of ${started}; this checkout is not rebuilt (npm run build here does that)`);
  process.exit(0);
}
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
process.exit(spawnSync(npm, ['run', 'build'], { stdio: 'inherit' }).status ?? 1);
