/**
 * `hst` on a terminal: the TUI over the example plugins (or --plugin-dir),
 * with the host's state in --data-dir (default ./.hst). It takes the whole
 * terminal (the alternate screen, given back on exit), keeps every log line
 * out of it (the log file; console output goes there too), and on q, Ctrl-C,
 * SIGINT, SIGTERM or SIGHUP stops every plugin before it exits.
 */
import { accessSync, constants } from 'node:fs';
import { format } from 'node:util';
import type { Logger } from '../../log.js';
import { demoPlugins } from '../demo-setup.js';
import { Cli, errorMessage, USAGE_EXIT, type GlobalOptions } from '../output.js';
import { HostController } from './controller.js';
import { shortPath } from './short-path.js';
import { makeDirs } from '../../util/make-dirs.js';

const ENTER_ALTERNATE_SCREEN = '\u001b[?1049h';
const LEAVE_ALTERNATE_SCREEN = '\u001b[?1049l';

export async function tuiCommand(globals: GlobalOptions): Promise<number> {
  if (globals.logStderr) {
    process.stderr.write('error: --log-stderr would draw the log over the TUI; use it with --no-tui or a subcommand (the TUI logs to <data-dir>/logs/hst.log)\n');
    return USAGE_EXIT;
  }
  const cli = new Cli(globals);
  try {
    // Found out here, in one line, rather than inside the TUI at the first write.
    makeDirs(cli.dataDir, 0o700);
    accessSync(cli.dataDir, constants.W_OK);
  } catch (err) {
    process.stderr.write(`error: the data directory ${cli.dataDir} cannot be used: ${errorMessage(err)}\n`);
    return 1;
  }
  const logger = cli.log();
  const controller = new HostController({ ...demoPlugins(cli), dataDir: cli.dataDir, logger, ...(cli.logFile ? { logFile: cli.logFile } : {}), color: cli.color, policy: cli.hostPolicy });
  const { render, App } = await loadInk();

  const restoreConsole = consoleToLog(logger);
  const leave = () => process.stdout.write(LEAVE_ALTERNATE_SCREEN);
  process.stdout.write(ENTER_ALTERNATE_SCREEN);
  // Whatever ends the process, the terminal gets its screen back.
  process.once('exit', leave);
  const onSignal = () => void controller.shutdown();
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const signal of signals) process.on(signal, onSignal);
  let clean = false;
  try {
    const app = render(<App controller={controller} />, { exitOnCtrlC: false, patchConsole: false });
    void controller.startUp();
    await app.waitUntilExit();
  } finally {
    clean = await controller.shutdown();
    for (const signal of signals) process.off(signal, onSignal);
    process.off('exit', leave);
    leave();
    restoreConsole();
    const { lastError } = controller.state();
    const log = cli.logFile ? `; the host's log: ${shortPath(cli.logFile, 200)}` : '';
    if (clean) process.stdout.write(`hst: every plugin stopped${log}\n`);
    else process.stderr.write(`hst: ${lastError ?? 'plugin processes are still running'}${log}\n`);
  }
  return clean ? 0 : 1;
}

/**
 * ink draws only the last frame when it thinks it runs in CI (is-in-ci reads
 * CI once, when ink is first imported); on a terminal every frame must be
 * drawn, so ink is loaded with CI unset, and CI is put back.
 */
async function loadInk() {
  const saved = { CI: process.env.CI, CONTINUOUS_INTEGRATION: process.env.CONTINUOUS_INTEGRATION };
  delete process.env.CI;
  delete process.env.CONTINUOUS_INTEGRATION;
  try {
    const [{ render }, { App }] = await Promise.all([import('ink'), import('./app.js')]);
    return { render, App };
  } finally {
    for (const [name, value] of Object.entries(saved)) if (value !== undefined) process.env[name] = value;
  }
}

/** console.* would write over the TUI: while it runs, they go to the log. */
function consoleToLog(logger: Logger): () => void {
  const methods = ['log', 'info', 'warn', 'error', 'debug'] as const;
  const saved = methods.map((m) => console[m]);
  for (const m of methods) console[m] = (...args: unknown[]) => logger[m === 'log' ? 'info' : m]({ console: m }, format(...args));
  return () => methods.forEach((m, i) => (console[m] = saved[i] as (typeof console)[typeof m]));
}
