#!/usr/bin/env node
// Runs the compiled tests with node's test runner. Node 20 does not expand
// globs itself, so the files are listed here. `node scripts/test.mjs protocol`
// runs only the files whose path contains "protocol". The sandbox's tests run
// twice: as the machine is, then with bubblewrap hidden; the tests of hst
// hosts with hst plugins twice: on the native transport, then on gRPC.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..');
const dist = join(root, 'dist');
const filters = process.argv.slice(2);

function find(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' || name === 'fixtures' ? [] : find(path);
    return name.endsWith('.test.js') ? [path] : [];
  });
}

const files = ['src', 'examples', 'test']
  .flatMap((d) => {
    try {
      return find(join(dist, d));
    } catch {
      return [];
    }
  })
  // Compiled output of a deleted test stays in dist/: run only tests whose source still exists.
  .filter((f) => ['.ts', '.tsx'].some((ext) => existsSync(join(root, relative(dist, f).replace(/\.js$/, ext)))))
  .filter((f) => filters.length === 0 || filters.some((flt) => relative(dist, f).includes(flt)))
  .sort();

if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ') || '(all)'}; did the build run?`);
  process.exit(1);
}
// The timeout is the last resort for a hung file: tests wait with bounds of their own. It also bounds each
// file as a whole, and the packed-package file (npm pack and installs in three languages) takes ~75 s on a
// quiet machine of two cores and went past 180 s with other runs and a CPU hog beside it.
const nodeTest = [process.execPath, '--enable-source-maps', '--test', '--test-concurrency=2', '--test-timeout=600000'];
const first = spawnSync(nodeTest[0], [...nodeTest.slice(1), ...files], { stdio: 'inherit', cwd: root }).status ?? 1;

// HST_TEST_ONCE=1 stops after this first run: CI's runs under other Node versions, where the two runs below
// would repeat what the first run under Node 20 covers (the same sandbox and transport code).
if (process.env.HST_TEST_ONCE) process.exit(first);

// The sandbox's own tests and the attack corpus run a second time with bubblewrap hidden in a private
// mount namespace, as a fresh machine has it: there hst's own launcher isolates the plugins.
const BOTH_CONFIGURATIONS = ['test/security/', 'test/package.test', 'src/security/sandbox.test', 'src/host-services/processes-sandbox.test', 'test/interop/sandboxed.test'];
const again = files.filter((f) => BOTH_CONFIGURATIONS.some((prefix) => relative(dist, f).startsWith(prefix)));
let second = 0;
if (again.length > 0) {
  const bwrap = spawnSync('sh', ['-c', 'command -v bwrap'], { encoding: 'utf8' }).stdout.trim();
  if (!bwrap) {
    console.log('\n# bubblewrap is not installed here: the sandbox tests ran once, without it (apt-get install bubblewrap for both)');
    // CI installs it: there, one configuration untested is a failure.
    if (process.env.CI) second = 1;
  } else {
    console.log(`\n# the sandbox tests again, with bubblewrap (${bwrap}) hidden: ${again.length} files`);
    const asRoot = process.getuid?.() === 0 ? [] : ['--user', '--map-root-user'];
    const hide = ['sh', '-c', 'mount --bind /dev/null "$0" && exec "$@"', bwrap];
    second =
      spawnSync('unshare', [...asRoot, '--mount', ...hide, ...nodeTest, ...again], { stdio: 'inherit', cwd: root, env: { ...process.env, HST_TEST_BWRAP_HIDDEN: '1' } }).status ?? 1;
  }
}
// hst hosts talk to hst plugins over the native transport by default; the tests where an hst host meets
// an hst plugin (or host services meet their client) run once more over go-plugin's gRPC.
const GRPC_AGAIN = ['test/', 'src/manager/', 'src/host-services/', 'src/plugin/'];
// Go and Python peers speak gRPC on every run already; the bench smoke test measures both pairs itself.
const NOT_TS_TO_TS = ['test/packed-package.test', 'test/interop/go.test', 'test/interop/python.test', 'test/interop/container.test', 'test/dashboard/', 'test/security/go-attacker.test', 'test/bench/', 'test/generated.test'];
const overGrpc = files.filter((f) => {
  const path = relative(dist, f);
  return GRPC_AGAIN.some((prefix) => path.startsWith(prefix)) && !NOT_TS_TO_TS.some((prefix) => path.startsWith(prefix));
});
let third = 0;
if (overGrpc.length > 0) {
  console.log(`\n# hst host with hst plugins again, over gRPC instead of the native transport: ${overGrpc.length} files`);
  third = spawnSync(nodeTest[0], [...nodeTest.slice(1), ...overGrpc], { stdio: 'inherit', cwd: root, env: { ...process.env, HST_TRANSPORT: 'grpc' } }).status ?? 1;
}
process.exit(first || second || third);
