/**
 * hostdemo: runs a short demonstration of every host-services domain and
 * reports how each operation went (its name, whether it succeeded, how long
 * it took and what it returned) as the command's result, with a table as
 * output. A failed operation is reported, not thrown, so one refused
 * capability does not hide how the rest behave.
 */
import { CommandError, hostServices, serve, type CommandContext, type HostServiceClients } from 'hst/plugin';

interface OperationResult {
  /** `Service/Method`, as the host's audit log names it. */
  operation: string;
  ok: boolean;
  durationMs: number;
  detail: string;
}

type Suite = (host: HostServiceClients, report: Report, ctx: CommandContext) => Promise<void>;

/** Exit code for a command called with bad arguments. */
const USAGE = 2;
/** How long the demo waits for a watched change or a subscribed event. */
const DELIVERY_TIMEOUT_MS = 3_000;
const KV_PREFIX = 'hostdemo/';
const TOPIC = 'hostdemo.ping';
/** hst.host.v1 enum values the demo reads or sends. */
const LOG_INFO = 3;
const LOG_WARN = 4;
const OUTPUT_STDOUT = 1;
const KV_CHANGE_NAMES: Record<number, string> = { 1: 'put', 2: 'delete', 3: 'expire' };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

class Report {
  readonly results: OperationResult[] = [];

  constructor(private readonly signal: AbortSignal) {}

  /** Runs one operation and records it; false when it failed, so the steps that need it can be left out. */
  async step(operation: string, run: () => Promise<string>): Promise<boolean> {
    this.signal.throwIfAborted();
    const started = performance.now();
    try {
      const detail = await run();
      this.results.push({ operation, ok: true, durationMs: elapsed(started), detail });
      return true;
    } catch (err) {
      if (this.signal.aborted) throw err;
      this.results.push({ operation, ok: false, durationMs: elapsed(started), detail: err instanceof Error ? err.message : String(err) });
      return false;
    }
  }
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 10) / 10;
}

/**
 * A stream whose first message says it is live (KV watches, event
 * subscriptions). It is cancelled by close(), with the command, or when a
 * read waits longer than DELIVERY_TIMEOUT_MS.
 */
class Observed<T> {
  private readonly stop = new AbortController();
  private readonly stream: AsyncIterator<T>;
  /** Resolves once the stream is live: what happens from then on is delivered. */
  readonly live: Promise<void>;

  constructor(open: (signal: AbortSignal) => AsyncIterable<T>, signal: AbortSignal) {
    this.stream = open(AbortSignal.any([this.stop.signal, signal]))[Symbol.asyncIterator]();
    this.live = this.next().then((first) => {
      if (first === undefined) throw new Error('the stream ended before it was live');
    });
    // Whoever needs the stream awaits `live` and sees the failure then.
    this.live.catch(() => {});
  }

  /** Reads until `enough` holds. */
  async take(enough: (seen: T[]) => boolean): Promise<T[]> {
    await this.live;
    const seen: T[] = [];
    while (!enough(seen)) {
      const next = await this.next();
      if (next === undefined) throw new Error(`the stream ended after ${seen.length} messages`);
      seen.push(next);
    }
    return seen;
  }

  close(): void {
    this.stop.abort();
  }

  private async next(): Promise<T | undefined> {
    let timedOut = false;
    const timer = setTimeout(() => ((timedOut = true), this.stop.abort()), DELIVERY_TIMEOUT_MS);
    try {
      const next = await this.stream.next();
      return next.done ? undefined : next.value;
    } catch (err) {
      throw timedOut ? new Error(`nothing arrived within ${DELIVERY_TIMEOUT_MS} ms`) : err;
    } finally {
      clearTimeout(timer);
    }
  }
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

const suites: Record<string, Suite> = {
  async env(host, r) {
    const env = host.environment;
    await r.step('Environment/ListEnv', async () => {
      const { variables } = await env.listEnv({ prefix: 'HST_DEMO_' });
      return variables.length === 0 ? 'no HST_DEMO_ variables are exposed' : variables.map((v) => v.name).join(', ');
    });
    await r.step('Environment/GetEnv', async () => `HST_DEMO_GREETING=${JSON.stringify((await env.getEnv({ name: 'HST_DEMO_GREETING' })).value)}`);
    await r.step('Environment/LookupEnv', async () => {
      const { found, value } = await env.lookupEnv({ name: 'HST_DEMO_UNSET' });
      return found ? `HST_DEMO_UNSET=${JSON.stringify(value)}` : 'HST_DEMO_UNSET is not set';
    });
    await r.step('Environment/ExpandEnv', async () => (await env.expandEnv({ text: '${HST_DEMO_GREETING}, $HST_DEMO_NAME!' })).text);
  },

  async system(host, r) {
    const sys = host.system;
    await r.step('System/Hostname', async () => (await sys.hostname({})).hostname);
    await r.step('System/OsInfo', async () => {
      const os = await sys.osInfo({});
      return `${os.type} ${os.release} (${os.platform}/${os.arch})`;
    });
    await r.step('System/CpuInfo', async () => {
      const cpu = await sys.cpuInfo({});
      return `${cpu.count} x ${cpu.model}`;
    });
    await r.step('System/MemoryInfo', async () => {
      const mem = await sys.memoryInfo({});
      return `${Math.round(mem.available / 2 ** 20)} MiB available of ${Math.round(mem.total / 2 ** 20)} MiB`;
    });
    await r.step('System/Uptime', async () => `${Math.round((await sys.uptime({})).seconds)} s`);
    await r.step('System/LoadAverage', async () => {
      const load = await sys.loadAverage({});
      return [load.one, load.five, load.fifteen].map((n) => n.toFixed(2)).join(' ');
    });
    await r.step('System/Now', async () => {
      const now = await sys.now({});
      return `${now.iso} (${now.timezone})`;
    });
    await r.step('System/UserInfo', async () => {
      const user = await sys.userInfo({});
      return `${user.username} (uid ${user.uid})`;
    });
  },

  async temp(host, r) {
    let file = '';
    if (!(await r.step('Temp/CreateTempFile', async () => (file = (await host.temp.createTempFile({ prefix: 'hostdemo-', suffix: '.txt' })).path)))) return;
    await r.step('Filesystem/WriteFile', async () => `${(await host.filesystem.writeFile({ path: file, data: encoder.encode('hello from hostdemo\n') })).bytesWritten} bytes to ${file}`);
    await r.step('Filesystem/ReadFile', async () => JSON.stringify(decoder.decode((await host.filesystem.readFile({ path: file })).data)));
    await r.step('Temp/CreateTempDir', async () => (await host.temp.createTempDir({ prefix: 'hostdemo-' })).path);
    await r.step('Temp/ListTemp', async () => (await host.temp.listTemp({})).entries.map((e) => e.path).join(', '));
    await r.step('Temp/RemoveTemp', async () => `${(await host.temp.removeTemp({ path: file })).removed} removed`);
    await r.step('Temp/CleanupTemp', async () => `${(await host.temp.cleanupTemp({})).removed} removed`);
  },

  async processes(host, r) {
    const proc = host.processes;
    await r.step('Processes/Exec', async () => {
      const run = await proc.exec({ program: '/bin/echo', args: ['hello from hostdemo'] });
      if (run.exit?.exitCode !== 0) throw new Error(`${run.program} exited with ${run.exit?.exitCode}`);
      return `${run.program} printed ${JSON.stringify(decoder.decode(run.stdout))}`;
    });
    let id = '';
    if (!(await r.step('Processes/Spawn', async () => {
      const spawned = await proc.spawn({ program: '/bin/echo', args: ['spawned by hostdemo'] });
      id = spawned.id;
      return `pid ${spawned.pid}`;
    }))) return;
    await r.step('Processes/ProcessOutput', async () => {
      let stdout = '';
      let exit = '';
      for await (const m of proc.processOutput({ id })) {
        if (m.stream === OUTPUT_STDOUT) stdout += decoder.decode(m.data);
        if (m.exit) exit = `exit ${m.exit.exitCode}`;
      }
      return `${JSON.stringify(stdout)}, ${exit}`;
    });
    await r.step('Processes/Wait', async () => `exit code ${(await proc.wait({ id, timeoutMs: 5_000 })).exit?.exitCode}`);
    await r.step('Processes/ListProcesses', async () => `${(await proc.listProcesses({})).processes.length} still held`);
  },

  async kv(host, r, ctx) {
    const kv = host.kv;
    const key = `${KV_PREFIX}greeting`;
    // Whatever an earlier run left goes, so the versions below start from an absent key;
    // if kv is refused, the steps below report it.
    await kv.delete({ key }).catch(() => {});
    const watch = new Observed((signal) => kv.watch({ prefix: KV_PREFIX }, { signal }), ctx.signal);
    try {
      // Changes made before the watch is live would not reach it; a failed watch is reported below.
      await watch.live.catch(() => {});
      let version = 0;
      await r.step('KeyValue/Put', async () => `${key} version ${(version = (await kv.put({ key, value: encoder.encode('hello') })).version)}`);
      await r.step('KeyValue/Get', async () => {
        const got = await kv.get({ key });
        return got.found ? `${key}=${JSON.stringify(decoder.decode(got.value))} version ${got.version}` : `${key} is missing`;
      });
      await r.step('KeyValue/CompareAndSwap', async () => {
        const swap = await kv.compareAndSwap({ key, expectedVersion: version, value: encoder.encode('hello again') });
        const stale = await kv.compareAndSwap({ key, expectedVersion: version, value: encoder.encode('lost update') });
        if (!swap.swapped || stale.swapped) throw new Error(`expected the first swap to win and the stale one to lose, got ${swap.swapped} and ${stale.swapped}`);
        return `swapped to version ${swap.version}; a stale swap was refused`;
      });
      await r.step('KeyValue/List', async () => (await kv.list({ prefix: KV_PREFIX })).entries.map((e) => `${e.key} (${e.size} bytes)`).join(', '));
      await r.step('KeyValue/Delete', async () => `existed: ${(await kv.delete({ key })).existed}`);
      await r.step('KeyValue/Watch', async () => {
        const changes = await watch.take((seen) => seen.length >= 3);
        return changes.map((c) => `${KV_CHANGE_NAMES[c.kind] ?? c.kind} ${c.key}@${c.version}`).join(', ');
      });
    } finally {
      watch.close();
    }
  },

  async events(host, r, ctx) {
    const subscription = new Observed((signal) => host.events.subscribe({ pattern: 'hostdemo.>' }, { signal }), ctx.signal);
    try {
      await subscription.live.catch(() => {});
      await r.step('Events/Publish', async () => {
        const payload = encoder.encode(JSON.stringify({ sentAt: Date.now() }));
        return `delivered to ${(await host.events.publish({ topic: TOPIC, payload, contentType: 'application/json' })).delivered} subscriptions`;
      });
      await r.step('Events/Subscribe', async () => {
        const [event] = await subscription.take((seen) => seen.length >= 1);
        return `received ${event?.topic} #${event?.sequence} from ${event?.publisher?.owner}`;
      });
    } finally {
      subscription.close();
    }
  },

  async http(host, r, ctx) {
    const url = ctx.args.url;
    if (!url) return;
    await r.step('Http/Fetch', async () => {
      let status = '';
      let bytes = 0;
      try {
        for await (const m of host.http.fetch({ url, timeoutMs: 10_000 }, { signal: ctx.signal })) {
          if (m.head) status = `${m.head.status} ${m.head.statusText}`;
          bytes += m.data.length;
        }
      } catch (err) {
        // net is granted per deployment, not in plugin.yaml: say what to grant.
        const { hostname, port, protocol } = new URL(url);
        const grant = `net:${hostname}:${port || (protocol === 'https:' ? 443 : 80)}`;
        await host.log.log({ level: LOG_WARN, message: `hostdemo could not fetch ${url}; grant ${grant} to let it`, fields: { url, grant } }).catch(() => {});
        throw err;
      }
      return `${status}, ${bytes} bytes`;
    });
  },

  async log(host, r) {
    await r.step('Log/Log', async () => {
      await host.log.log({ level: LOG_INFO, message: 'hello from hostdemo', fields: { suite: 'log' } });
      return 'one info entry';
    });
  },
};

function table(results: OperationResult[], color: boolean): string {
  const paint = (code: string, text: string) => (color ? `\x1b[${code}m${text}\x1b[0m` : text);
  const width = Math.max('operation'.length, ...results.map((r) => r.operation.length));
  const lines = [`${'operation'.padEnd(width)}  ${'ok'.padEnd(4)} ${'ms'.padStart(7)}  detail`];
  for (const r of results) {
    const ok = r.ok ? paint('32', 'ok  ') : paint('31', 'FAIL');
    lines.push(`${r.operation.padEnd(width)}  ${ok} ${r.durationMs.toFixed(1).padStart(7)}  ${oneLine(r.detail)}`);
  }
  return lines.join('\n') + '\n';
}

async function run(ctx: CommandContext, names: string[]) {
  const host = await hostServices();
  const report = new Report(ctx.signal);
  for (const name of names) await suites[name]?.(host, report, ctx);
  const failed = report.results.filter((r) => !r.ok).length;
  ctx.output(table(report.results, ctx.color));
  ctx.output(failed === 0 ? `all ${report.results.length} operations succeeded\n` : `${failed} of ${report.results.length} operations failed\n`);
  return { operations: report.results, failed };
}

/** The machine as the system host service reports it: what the route and the widget show. */
async function machine() {
  const { system } = await hostServices();
  const [os, load, uptime] = await Promise.all([system.osInfo({}), system.loadAverage({}), system.uptime({})]);
  return { platform: os.platform, release: os.release, arch: os.arch, load: [load.one, load.five, load.fifteen], uptimeSeconds: Math.round(uptime.seconds) };
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

await serve({
  handshake: { protocolVersion: 1, magicCookieKey: 'HST_PLUGIN', magicCookieValue: 'hst-example-v1' },
  plugins: {},
  // Under hst serve: GET /plugins/hostdemo/machine, and the machine widget on the dashboard.
  http: {
    machine: async () => ({ json: await machine() }),
    machineWidget: async () => {
      const m = await machine();
      return `<style>body{font:13px system-ui;margin:.6em}b{font-weight:600}</style><p><b>${escapeHtml(m.platform)} ${escapeHtml(m.release)}</b> (${escapeHtml(m.arch)})</p><p>load ${m.load.map((l) => l.toFixed(2)).join(' ')}</p><p>up ${(m.uptimeSeconds / 3600).toFixed(1)} h</p>`;
    },
  },
  commands: {
    all: (ctx) => {
      if (!ctx.args.url) ctx.output('no url given: the http suite is left out\n');
      return run(ctx, Object.keys(suites));
    },
    ...Object.fromEntries(
      Object.keys(suites).map((name) => [
        name,
        (ctx: CommandContext) => {
          if (name === 'http' && !ctx.args.url) throw new CommandError('the argument url is required', USAGE);
          return run(ctx, [name]);
        },
      ]),
    ),
  },
});
