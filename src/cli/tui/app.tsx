/**
 * The TUI: a header with where you are, the screen on top of the stack (the
 * ones below stay as they were, to come back to), and the status line. The
 * App's own keys: ? for help, Ctrl-C to shut down; while the host starts or
 * stops, its progress takes the screen.
 */
import { useCallback, useEffect, useLayoutEffect, useMemo, useSyncExternalStore } from 'react';
import { Box, Text, useApp } from 'ink';
import { AuditView } from './audit-view.js';
import { CapabilitiesPicker, GrantsView } from './capabilities-view.js';
import { CommandForm } from './command-form.js';
import { ConcurrencyView } from './concurrency-view.js';
import type { ControllerState, TuiController } from './controller.js';
import { Help } from './help.js';
import { isChar, type Key } from './keys.js';
import { KeyRoot, useKeyRouter } from './key-router.js';
import { MainMenu } from './menu.js';
import { PluginScreen } from './plugin-screen.js';
import { pluginTitle } from './plugin-title.js';
import { ProgressView } from './progress-view.js';
import { ResetView } from './reset-view.js';
import { RunView } from './run-view.js';
import type { Navigator, Screen, ScreenProps } from './screen.js';
import { StatusLine } from './status-line.js';
import { useLiveState } from './use-live-state.js';
import { useTerminalSize } from './use-terminal-size.js';

/** Header, the rules around the body, and the two status lines. */
const CHROME_ROWS = 5;

export function App({ controller }: { controller: TuiController }) {
  const subscribe = useCallback((listener: () => void) => controller.subscribe(listener), [controller]);
  const state = useSyncExternalStore(subscribe, () => controller.state());
  const { columns, rows } = useTerminalSize();
  const [stack, getStack, setStack] = useLiveState<Screen[]>([{ kind: 'menu' }]);
  const [help, getHelp, setHelp] = useLiveState(false);
  const { exit } = useApp();
  const quit = useCallback(() => void controller.shutdown(), [controller]);

  const router = useKeyRouter((key: Key) => {
    if (key.name === 'ctrl' && key.char === 'c') quit();
    else if (getHelp()) {
      if (isChar(key, '?') || isChar(key, 'q') || key.name === 'escape' || key.name === 'backspace') {
        router.hold();
        setHelp(false);
      }
    } else if (isChar(key, '?') && (state.phase === 'ready' || state.phase === 'resetting')) {
      router.hold();
      setHelp(true);
    } else if (isChar(key, 'q') && state.phase === 'starting') quit();
    else return false;
    return true;
  });
  // Keys held back while the screen changed go to the screen now there (registered in the same commit, before this runs).
  useLayoutEffect(() => router.release());
  useEffect(() => {
    if (state.phase === 'stopped') exit();
  }, [state.phase, exit]);

  const nav = useMemo<Navigator>(
    () => ({
      open(screen) {
        router.hold();
        setStack((s) => [...s, screen]);
      },
      back() {
        if (getStack().length <= 1) return;
        router.hold();
        setStack((s) => s.slice(0, -1));
      },
      quit,
    }),
    [router, quit, getStack, setStack],
  );

  // ink rewrites the whole screen on every frame once its output is as tall as the terminal; one row less avoids that.
  const height = Math.max(CHROME_ROWS + 3, rows - 1);
  const width = Math.max(20, columns);
  const bodyHeight = height - CHROME_ROWS;
  const bodyWidth = width - 2;
  const top = stack.length - 1;
  const busy = state.phase === 'starting' || state.phase === 'stopping' || state.phase === 'stopped';
  return (
    <KeyRoot router={router}>
      <Box flexDirection="column" width={width} height={height}>
        <Header stack={stack} state={state} width={width} />
        <Text dimColor>{'─'.repeat(width)}</Text>
        <Box width={width} height={bodyHeight} paddingX={1} flexDirection="column">
          {busy ? (
            <ProgressView state={state} width={bodyWidth} height={bodyHeight} />
          ) : (
            stack.map((screen, i) => (
              <Box key={`${i}:${screen.kind}`} display={i === top && !help ? 'flex' : 'none'} flexDirection="column">
                <ScreenFor screen={screen} controller={controller} state={state} nav={nav} width={bodyWidth} height={bodyHeight} active={i === top && !help} />
              </Box>
            ))
          )}
          {help && !busy ? <Help screen={stack[top]?.kind ?? 'menu'} width={bodyWidth} height={bodyHeight} /> : null}
        </Box>
        <Text dimColor>{'─'.repeat(width)}</Text>
        <Box paddingX={1}>
          <StatusLine state={state} width={bodyWidth} />
        </Box>
      </Box>
    </KeyRoot>
  );
}

function ScreenFor({ screen, ...props }: ScreenProps & { screen: Screen }) {
  switch (screen.kind) {
    case 'menu':
      return <MainMenu {...props} />;
    case 'plugin':
      return <PluginScreen {...props} plugin={screen.plugin} />;
    case 'form':
      return <CommandForm {...props} plugin={screen.plugin} command={screen.command} />;
    case 'run':
      return <RunView {...props} plugin={screen.plugin} command={screen.command} args={screen.args} />;
    case 'concurrency':
      return <ConcurrencyView {...props} />;
    case 'audit':
      return <AuditView {...props} />;
    case 'capabilities':
      return <CapabilitiesPicker {...props} />;
    case 'grants':
      return <GrantsView {...props} plugin={screen.plugin} />;
    case 'reset':
      return <ResetView {...props} />;
  }
}

/** Where you are ("hst › File Lister › head"), and the keys that always work. */
function Header({ stack, state, width }: { stack: Screen[]; state: ControllerState; width: number }) {
  const titleOf = (screen: Screen, below: Screen | undefined): string => {
    const plugin = 'plugin' in screen ? state.plugins.find((p) => p.name === screen.plugin) : undefined;
    const title = plugin ? pluginTitle(plugin.name, plugin.language) : 'plugin' in screen ? screen.plugin : '';
    switch (screen.kind) {
      case 'menu':
        return 'Main menu';
      case 'plugin':
        return title;
      case 'form':
        return screen.command;
      case 'run':
        return below?.kind === 'form' ? 'run' : screen.command;
      case 'concurrency':
        return 'Concurrency Demo';
      case 'audit':
        return 'Audit Log';
      case 'capabilities':
        return 'Capabilities';
      case 'grants':
        return title;
      case 'reset':
        return 'Reset State';
    }
  };
  const keys = '? help · Ctrl-C quit';
  return (
    <Box width={width} height={1} paddingX={1} justifyContent="space-between" overflow="hidden">
      <Text wrap="truncate-end">
        <Text bold color="cyan">
          hst
        </Text>
        {stack.map((screen, i) => (
          <Text key={i} bold={i === stack.length - 1}>{` › ${titleOf(screen, stack[i - 1])}`}</Text>
        ))}
      </Text>
      {width > 60 ? <Text dimColor>{keys}</Text> : null}
    </Box>
  );
}
