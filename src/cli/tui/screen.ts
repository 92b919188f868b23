/** The TUI's screens, as a stack: the main menu at the bottom, the one shown on top. */
import type { ControllerState, TuiController } from './controller.js';

export type Screen =
  | { kind: 'menu' }
  | { kind: 'plugin'; plugin: string }
  | { kind: 'form'; plugin: string; command: string }
  | { kind: 'run'; plugin: string; command: string; args: Record<string, string> }
  | { kind: 'concurrency' }
  | { kind: 'audit' }
  | { kind: 'capabilities' }
  | { kind: 'grants'; plugin: string }
  | { kind: 'reset' };

export interface Navigator {
  open(screen: Screen): void;
  /** Closes the screen on top (never the main menu). */
  back(): void;
  /** Shut down and exit. */
  quit(): void;
}

/** What every screen is given. */
export interface ScreenProps {
  controller: TuiController;
  state: ControllerState;
  nav: Navigator;
  width: number;
  height: number;
  /** Whether it is on top and gets the keys. */
  active: boolean;
}
