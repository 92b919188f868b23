/**
 * A runner that starts the plugin in a container with podman or docker.
 *
 * The container gets no network and one way to the host: the plugin's socket
 * directory, bind-mounted at /run/hst. With go-plugin's broker multiplexing
 * (`multiplex: true`) everything travels over the one socket the plugin
 * listens on there; without it the host's broker listeners are put in the
 * same directory and announced under their path inside.
 *
 * Variables reach the container by name only (`--env NAME`, the value taken
 * from the engine's own environment), so nothing the plugin is given shows
 * in the host's process list.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { ENV_UNIX_SOCKET_DIR } from '../../protocol/constants.js';
import type { Address } from '../../rpc/transport.js';
import { SpawnedProcess, type ExitInfo } from '../plugin-process.js';
import { spawned } from './process-runner.js';
import type { Runner, RunnerLaunch, RunningPlugin } from './runner.js';

export interface ContainerRunnerOptions {
  /** The image holding the plugin; the command's path is the entry inside it. */
  image: string;
  /** `podman`, `docker` or a path to either; default HST_CONTAINER_ENGINE, else podman, else docker, whichever answers. */
  engine?: string;
  /** Where the host's socket directory appears inside (default /run/hst). */
  socketMount?: string;
  /** Default `none`: the plugin reaches nothing but the host's sockets. */
  network?: string;
  /** More arguments for `run` (resource limits, an OCI runtime, `--read-only`, a user). */
  runArgs?: string[];
}

const run = promisify(execFile);
const DEFAULT_MOUNT = '/run/hst';
/** The engines' own exit codes for a container that never ran its command. */
const ENGINE_EXITS: Record<number, string> = {
  125: 'could not create or start the container',
  126: 'found the command in the image but could not run it',
  127: 'did not find the command in the image',
};

/** The first engine that answers `version`, with what each one said when none does. */
async function findEngine(wanted: string | undefined): Promise<string> {
  const candidates = wanted ? [wanted] : process.env.HST_CONTAINER_ENGINE ? [process.env.HST_CONTAINER_ENGINE] : ['podman', 'docker'];
  const why: string[] = [];
  for (const engine of candidates) {
    try {
      await run(engine, ['version'], { timeout: 15_000 });
      return engine;
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stderr?: string };
      const said = e.code === 'ENOENT' ? 'not installed' : (e.stderr?.trim().split('\n').pop() ?? e.message);
      why.push(`${engine}: ${said}`);
    }
  }
  throw new Error(`no container engine answers (${why.join('; ')}); install podman or docker, or start docker's daemon`);
}

class Container implements RunningPlugin {
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** The engine's client, which lives as long as the container and exits with its code. */
  private readonly client: SpawnedProcess;
  /** Not the host's to see: the container has its own pid namespace. */
  readonly pid = undefined;

  constructor(
    child: ReturnType<typeof spawn>,
    readonly id: string,
    private readonly engine: string,
    private readonly socketDir: string,
    private readonly mount: string,
    private readonly shareNetwork: boolean,
  ) {
    this.client = new SpawnedProcess(child);
    this.stdout = child.stdout as Readable;
    this.stderr = child.stderr as Readable;
  }

  get exited(): Promise<ExitInfo> {
    return this.client.exited;
  }

  get exitInfo(): ExitInfo | undefined {
    return this.client.exitInfo;
  }

  kill(): void {
    if (this.exitInfo) return;
    // The engine's client going away does not stop the container: the engine must.
    spawnSync(this.engine, ['kill', this.id], { stdio: 'ignore', timeout: 10_000 });
    this.client.kill();
  }

  pluginToHost(address: Address): Address {
    if (address.network === 'tcp' && this.shareNetwork) return address;
    const moved = moveSocket(address, this.mount, this.socketDir);
    if (!moved) {
      throw new Error(
        `the plugin in container ${this.id} announced ${address.network}:${address.address}, which the host cannot reach; only a socket directly in ${this.mount} is shared`,
      );
    }
    return moved;
  }

  hostToPlugin(address: Address): Address {
    if (address.network === 'tcp' && this.shareNetwork) return address;
    const moved = moveSocket(address, this.socketDir, this.mount);
    if (!moved) throw new Error(`the host's ${address.network}:${address.address} is outside the socket directory container ${this.id} can reach`);
    return moved;
  }

  async diagnose(): Promise<string | undefined> {
    const code = this.exitInfo?.code;
    const what = code !== undefined && code !== null ? ENGINE_EXITS[code] : undefined;
    return what ? `${this.engine} ${what} (exit ${code}); its message is among the stderr lines above` : undefined;
  }
}

/** A unix socket directly in `from`, as the same name in `to`; undefined for anything else. */
function moveSocket(address: Address, from: string, to: string): Address | undefined {
  const inside = address.network === 'unix' ? posix.relative(from, address.address) : '';
  if (!inside || inside.startsWith('..') || inside.includes('/')) return undefined;
  return { network: 'unix', address: posix.join(to, inside) };
}

export function containerRunner(options: ContainerRunnerOptions): Runner {
  let engine: Promise<string> | undefined;
  const mount = options.socketMount ?? DEFAULT_MOUNT;
  const network = options.network ?? 'none';
  return {
    name: 'container',
    async start(launch: RunnerLaunch): Promise<RunningPlugin> {
      engine ??= findEngine(options.engine);
      const exe = await engine.catch((err: Error) => {
        engine = undefined; // an engine installed or started later is found then
        throw err;
      });
      if (!launch.socketDir) throw new Error('the container runner needs the host to give the plugin a socket directory');
      const id = `hst-${launch.name.replace(/[^a-zA-Z0-9_.-]/g, '-').slice(0, 40)}-${randomBytes(4).toString('hex')}`;
      const pluginEnv = { ...launch.pluginEnv, [ENV_UNIX_SOCKET_DIR]: mount };
      const args = [
        'run',
        '--rm',
        ...(launch.stdin === 'inherit' ? ['-i'] : []),
        '--name',
        id,
        '--network',
        network,
        '--volume',
        `${launch.socketDir}:${mount}`,
        ...Object.keys(pluginEnv).flatMap((name) => ['--env', name]),
        ...(options.runArgs ?? []),
        '--entrypoint',
        launch.file,
        options.image,
        ...launch.args,
      ];
      launch.logger.debug({ engine: exe, container: id, image: options.image }, 'starting plugin container');
      const child = spawn(exe, args, { env: { ...process.env, ...pluginEnv }, stdio: [launch.stdin, 'pipe', 'pipe'], detached: true });
      const container = new Container(child, id, exe, launch.socketDir, mount, network === 'host');
      await spawned(child);
      return container;
    },
  };
}
