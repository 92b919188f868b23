/**
 * `hst serve`: the host as a long-running service. It starts every plugin,
 * reloads the ones whose files change, and serves the web dashboard on
 * 127.0.0.1 behind a token, printed once as the address to open. Ctrl-C
 * (or SIGTERM) stops the dashboard and every plugin.
 */
import { startDashboard } from '../dashboard/server.js';
import { newToken, tokenProblem } from '../dashboard/auth.js';
import { errorMessage, UsageError, type Cli } from './output.js';

export interface ServeOptions {
  port: number;
  /** The operator's token (or HST_DASHBOARD_TOKEN); random otherwise. */
  token?: string;
}

export async function serveCommand(cli: Cli, options: ServeOptions): Promise<number> {
  const token = options.token ?? process.env.HST_DASHBOARD_TOKEN ?? newToken();
  const problem = tokenProblem(token);
  if (problem) throw new UsageError(`hst serve: ${problem}`);
  const manager = cli.manager({ hotReload: true });
  // The first signal shuts down in order, a second means now. The handler stays: while it is there, nothing else takes the signal as the end of the process.
  let signalled = false;
  const stopped = new Promise<void>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.on(signal, () => {
        if (signalled) process.exit(130);
        signalled = true;
        resolve();
      });
    }
  });
  let dashboard: Awaited<ReturnType<typeof startDashboard>> | undefined;
  try {
    const { warnings } = await manager.discover();
    for (const warning of warnings) cli.err(`warning: ${warning}\n`);
    try {
      dashboard = await startDashboard(manager, { port: options.port, token, auditPath: manager.auditPath });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new UsageError(`hst serve: port ${options.port} on 127.0.0.1 is in use; give another with --port (0 picks a free one)`);
      throw err;
    }
    const plugins = await manager.startAll();
    const running = plugins.filter((p) => p.status === 'running').length;
    cli.out(`hst serve: ${plugins.length} plugins, ${running} running, from ${cli.pluginDirs.join(', ')}; hot reload on\n`);
    for (const p of plugins.filter((p) => p.status !== 'running')) cli.out(`  ${p.name}: ${p.status}${p.lastError ? `: ${errorMessage(new Error(p.lastError))}` : ''}\n`);
    cli.out(`dashboard: ${dashboard.url}\n(the token in it is the key: anyone with it can use the dashboard)\nCtrl-C stops the dashboard and every plugin\n`);
    await stopped;
    return 0;
  } finally {
    await dashboard?.close();
    await manager.shutdown();
  }
}
