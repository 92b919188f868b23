/**
 * A command running: its output as it streams and its latest progress,
 * then how it ended and its result (as JSON), all in a scrollable view that
 * follows the end while output comes. r runs it again; leaving cancels a
 * command still running.
 */
import { useEffect, useState } from 'react';
import { Box, Text } from 'ink';
import { failureText, type CommandOutcome } from '../command-outcome.js';
import { isBack, isChar } from './keys.js';
import { useKeys } from './key-router.js';
import type { ScreenProps } from './screen.js';
import { overflowOf, scrollPosition, ScrollView, useScroll } from './scroll-view.js';
import { displayLines } from '../../util/terminal-text.js';
import { useBatched } from './use-batched.js';
import { spinnerFrame, useClock } from './use-clock.js';

const HEADER_ROWS = 2;
const FOOTER_ROWS = 1;

export function RunView({ plugin, command, args, controller, nav, width, height, active }: ScreenProps & { plugin: string; command: string; args: Record<string, string> }) {
  const [runs, setRuns] = useState(0);
  const [started, setStarted] = useState(() => performance.now());
  const [progress, setProgress] = useState<string | undefined>();
  const [outcome, setOutcome] = useState<CommandOutcome | undefined>();
  const output = useBatched<string>();
  const now = useClock(outcome === undefined);

  useEffect(() => {
    const abort = new AbortController();
    output.reset();
    setOutcome(undefined);
    setProgress(undefined);
    setStarted(performance.now());
    void controller
      .runCommand(
        plugin,
        command,
        args,
        (event) => {
          if ('output' in event) output.add(event.output);
          else if ('progress' in event) setProgress(event.progress);
        },
        abort.signal,
      )
      .then((result) => {
        if (abort.signal.aborted) return;
        output.flush();
        setOutcome(result);
      });
    return () => abort.abort();
  }, [runs]);

  const text = output.items.join('').replace(/\n$/, '');
  const lines = [...(text ? displayLines(text) : []), ...resultLines(outcome)];
  const viewHeight = Math.max(1, height - HEADER_ROWS - FOOTER_ROWS);
  const scroll = useScroll(lines.length, viewHeight, { follow: true, overflow: overflowOf(lines, width) });

  useKeys((key) => {
    if (scroll.handleKey(key)) return true;
    if (isBack(key)) nav.back();
    else if (isChar(key, 'r') && outcome) setRuns((n) => n + 1);
    else return false;
    return true;
  }, active);

  const shownArgs = Object.entries(args).map(([k, v]) => `${k}=${v}`).join(' ');
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Text bold wrap="truncate-end">{`${plugin} ${command}${shownArgs ? ` ${shownArgs}` : ''}`}</Text>
      <Box width={width} height={1} overflow="hidden">
        {outcome === undefined ? (
          <Text wrap="truncate-end">
            <Text color="cyan">{`${spinnerFrame(now)} running ${((now - started) / 1000).toFixed(1)} s`}</Text>
            {progress ? <Text dimColor>{`  ${progress.replace(/\s+/g, ' ')}`}</Text> : null}
          </Text>
        ) : outcome.ok ? (
          <Text color="green" wrap="truncate-end">{`✔ exit ${outcome.exitCode} · ${Math.round(outcome.ms)} ms${outcome.progress > 0 ? ` · ${outcome.progress} progress updates` : ''}`}</Text>
        ) : (
          <Text color="red" wrap="truncate-end">{`✖ exit ${outcome.exitCode} · ${Math.round(outcome.ms)} ms · ${failureText(outcome).replace(/\s+/g, ' ')}`}</Text>
        )}
      </Box>
      <ScrollView lines={lines} scroll={scroll} width={width} height={viewHeight} />
      <Text dimColor wrap="truncate-end">
        {`${scrollPosition(scroll, lines.length, viewHeight)} · j/k g/G PgUp/PgDn ←→ scroll${outcome ? ' · r runs again' : ''} · Esc back`}
      </Text>
    </Box>
  );
}

function resultLines(outcome: CommandOutcome | undefined): string[] {
  if (!outcome) return [];
  const head = `── result: exit ${outcome.exitCode}${outcome.error ? ` · ${outcome.error.replace(/\s+/g, ' ')}` : ''}`;
  return [...(outcome.output ? [''] : []), head, ...(outcome.value === null ? [] : displayLines(JSON.stringify(outcome.value, null, 2)))];
}
