/**
 * Where a plugin runs. go-plugin's runner idea: the host hands a runner the
 * plugin's command and environment, and the runner starts it somewhere (a
 * local process by default, a container, later a pod), tells the host how
 * it ends, kills it, and translates addresses between the plugin's view and
 * the host's, since a socket the plugin announces as /run/hst/plugin1 may be
 * /tmp/plugin-dir123/plugin1 where the host is.
 */
import type { Readable, Writable } from 'node:stream';
import type { Logger } from '../../log.js';
import type { Address } from '../../rpc/transport.js';
import type { PluginProcess } from '../plugin-process.js';

export interface RunnerLaunch {
  /** The plugin's name, for logs and for naming what the runner creates. */
  name: string;
  /** What to run, as the plugin's side sees it (a path inside an image for a container). */
  file: string;
  args: string[];
  /** argv[0], when it should differ from `file`. */
  argv0?: string;
  cwd?: string;
  /** The environment a local process gets: the command's, the host's unless skipped, and go-plugin's. */
  env: Record<string, string>;
  /** Only what the plugin must be told: the command's own variables and go-plugin's. */
  pluginEnv: Record<string, string>;
  /**
   * A directory of the host's for the plugin's sockets (PLUGIN_UNIX_SOCKET_DIR
   * in `env`); a runner that puts the plugin elsewhere makes it reachable
   * there and says where in `pluginEnv`'s copy it passes on.
   */
  socketDir?: string;
  stdin: 'inherit' | 'ignore';
  /** Descriptors after stderr that the plugin inherits (the sandbox's, the native transport's offer). */
  extraStdio?: Array<'pipe' | number>;
  logger: Logger;
}

/** A plugin a runner started: how it ends, how to end it, and how to reach it. */
export interface RunningPlugin extends PluginProcess {
  /** The runner's name for it: a pid, a container's name. */
  readonly id: string;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** The streams of `extraStdio`, in order. */
  readonly extraStreams?: ReadonlyArray<Readable | Writable | null>;
  /** An address the plugin announced, as the host must dial it; throws for one the host must not dial. */
  pluginToHost?(address: Address): Address;
  /** An address of the host's (a broker listener in `socketDir`), as the plugin must dial it. */
  hostToPlugin?(address: Address): Address;
  /** What the runner knows about a failed start, for the error the user sees. */
  diagnose?(): Promise<string | undefined>;
}

export interface Runner {
  /** For logs and errors: "process", "podman". */
  readonly name: string;
  /** Starts the plugin; rejects when it could not be started at all (a missing file, no container engine). */
  start(launch: RunnerLaunch): Promise<RunningPlugin>;
  /**
   * Whether the plugin may inherit descriptors (`extraStdio`): a local
   * process can, a container cannot, so the host offers the native
   * transport's socket pair only where they pass.
   */
  readonly passesDescriptors?: boolean;
}
