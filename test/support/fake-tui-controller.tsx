/**
 * What the TUI's component tests render against: a TuiController that runs
 * nothing, over plugins described by the example manifests, and that
 * remembers what it was asked to do. And the key routing the App gives its
 * screens, for rendering one screen alone.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ReactNode } from 'react';
import type { CommandEvent } from '../../src/host/commands.js';
import { discoveredInfo, type PluginInfo } from '../../src/manager/plugin-info.js';
import type { AuditRecord } from '../../src/security/audit.js';
import { parseCapabilityString } from '../../src/security/capability.js';
import { parseManifest } from '../../src/security/manifest.js';
import type { CommandOutcome } from '../../src/cli/command-outcome.js';
import type { CallReport, ConcurrencyPlan, ConcurrencySummary } from '../../src/cli/concurrent-calls.js';
import type { CapabilityRow, ControllerState, TuiController } from '../../src/cli/tui/controller.js';
import { KeyRoot, useKeyRouter } from '../../src/cli/tui/key-router.js';
import type { Navigator, Screen } from '../../src/cli/tui/screen.js';
import { eventually } from './assertions.js';
import { repo } from './peers.js';

const LANGUAGES: Record<string, PluginInfo['language']> = { node: 'typescript', binary: 'go', python: 'python' };

/** An example plugin as the manager describes it, running unless told otherwise. */
export function examplePlugin(name: string, info: Partial<PluginInfo> = {}): PluginInfo {
  const file = join(repo, 'plugins', name, 'plugin.yaml');
  const m = parseManifest(readFileSync(file), file);
  const language = LANGUAGES[m.runtime];
  return {
    ...discoveredInfo({ name: m.name, dir: m.dir, file, status: 'discovered', manifest: m, ...(language ? { language } : {}) }, 'running'),
    ...((info.status ?? 'running') === 'running' ? { pid: 1000 + name.length } : {}),
    ...info,
  };
}


/** The five example plugins, in the manager's order; pylelister unavailable, as on a machine without Python. */
export function examplePlugins(): PluginInfo[] {
  return [
    examplePlugin('colorlister'),
    examplePlugin('filelister'),
    examplePlugin('golister'),
    examplePlugin('hostdemo'),
    examplePlugin('pylelister', { status: 'unavailable', lastError: 'python3 is not installed' }),
  ];
}

export class FakeController implements TuiController {
  /** What it was asked, in order: "run filelister head {...}", "kill filelister", "shutdown", ... */
  readonly asked: string[] = [];
  /** Output each command run streams before its result. */
  output: Record<string, string> = {};
  private current: ControllerState;
  private readonly listeners = new Set<() => void>();
  private readonly revoked = new Set<string>();

  constructor(state: Partial<ControllerState> = {}) {
    this.current = { phase: 'ready', progress: [], plugins: examplePlugins(), logFile: '/data/logs/hst.log', ...state };
  }

  state(): ControllerState {
    return this.current;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** Changes the state as the real controller would, telling the subscribers. */
  update(change: Partial<ControllerState>): void {
    this.current = { ...this.current, ...change };
    for (const listener of this.listeners) listener();
  }

  sampleArgs(): Record<string, string> {
    return {};
  }

  async runCommand(plugin: string, command: string, args: Record<string, string>, onEvent: (event: CommandEvent) => void): Promise<CommandOutcome> {
    this.asked.push(`run ${plugin} ${command} ${JSON.stringify(args)}`);
    const output = this.output[`${plugin} ${command}`] ?? '';
    if (output) onEvent({ output });
    const value = { plugin, command, args };
    onEvent({ result: { value, exitCode: 0 } });
    return { ok: true, output, progress: 0, value, exitCode: 0, ms: 1 };
  }

  planConcurrency(): ConcurrencyPlan {
    throw new Error('too few plugins are running for this (none)');
  }

  runConcurrency(_plan: ConcurrencyPlan, _onCall: (call: CallReport) => void): Promise<ConcurrencySummary> {
    throw new Error('not planned');
  }

  auditRecords(): AuditRecord[] {
    return [];
  }

  followAudit(): void {}

  capabilities(plugin: string): CapabilityRow[] {
    const declared = this.current.plugins.find((p) => p.name === plugin)?.capabilities ?? [];
    return declared.map((capability) => ({ capability, declared: true, effective: !this.revoked.has(`${plugin} ${capability}`) }));
  }

  grant(plugin: string, capability: string): void {
    parseCapabilityString(capability);
    this.asked.push(`grant ${plugin} ${capability}`);
    this.revoked.delete(`${plugin} ${capability}`);
  }

  revoke(plugin: string, capability: string): void {
    this.asked.push(`revoke ${plugin} ${capability}`);
    this.revoked.add(`${plugin} ${capability}`);
  }

  tryableCommands(plugin: string): string[] {
    return (this.current.plugins.find((p) => p.name === plugin)?.commands ?? []).filter((c) => c.args.every((a) => !a.required)).map((c) => c.name);
  }

  kill(plugin: string): void {
    this.asked.push(`kill ${plugin}`);
  }

  async start(plugin: string): Promise<void> {
    this.asked.push(`start ${plugin}`);
  }

  async reset(): Promise<void> {
    this.asked.push('reset');
  }

  async shutdown(): Promise<boolean> {
    this.asked.push('shutdown');
    this.update({ phase: 'stopped' });
    return true;
  }
}

/** A Navigator that records where it was sent. */
export class RecordingNavigator implements Navigator {
  readonly opened: Screen[] = [];
  backs = 0;
  quits = 0;
  open(screen: Screen): void {
    this.opened.push(screen);
  }
  back(): void {
    this.backs++;
  }
  quit(): void {
    this.quits++;
  }
}

/** The terminal's keys routed to the one screen below, as the App routes them. */
export function Keyed({ children }: { children: ReactNode }) {
  const router = useKeyRouter(() => false);
  return <KeyRoot router={router}>{children}</KeyRoot>;
}

/** What a test does with a rendered ink app: read its frame, type, and wait for what it shows. */
export function terminal(ui: { lastFrame(): string | undefined; stdin: { write(data: string): void; listenerCount(event: string): number } }) {
  const frame = () => ui.lastFrame() ?? '';
  return {
    frame,
    /** ink attaches its stdin listener in an effect after the first frame: keys typed before that are lost. */
    async ready(): Promise<void> {
      assert.ok(await eventually(() => ui.stdin.listenerCount('readable') > 0, 5_000), 'ink never read stdin');
    },
    press(keys: string): void {
      ui.stdin.write(keys);
    },
    /** Waits for the frame to match; fails showing the frame. */
    async shows(pattern: RegExp): Promise<void> {
      if (!(await eventually(() => pattern.test(frame()), 5_000))) assert.match(frame(), pattern);
    },
  };
}
