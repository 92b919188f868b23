/**
 * The concurrency demo, live: every running example plugin calls the shared
 * host services at once. A lane per plugin fills as its calls end, a log
 * below shows the calls interleaving as they finish, and at the end come
 * the calls, errors, p50/p99 latency and wall time, and whether every call
 * left its audit record. r runs it again.
 */
import { useEffect, useState } from 'react';
import { Box, Text } from 'ink';
import { ROUNDS, summaryLine, type CallReport, type ConcurrencyPlan, type ConcurrencySummary } from '../concurrent-calls.js';
import { errorMessage } from '../output.js';
import { isBack, isChar } from './keys.js';
import { useKeys } from './key-router.js';
import type { ScreenProps } from './screen.js';
import { scrollPosition, ScrollView, useScroll } from './scroll-view.js';
import { useBatched } from './use-batched.js';
import { spinnerFrame, useClock } from './use-clock.js';

type Run = { plan: ConcurrencyPlan; summary?: ConcurrencySummary } | { error: string };

export function ConcurrencyView({ controller, nav, width, height, active }: ScreenProps) {
  const [runs, setRuns] = useState(0);
  const [run, setRun] = useState<Run | undefined>();
  const calls = useBatched<CallReport>();
  const done = run !== undefined && ('error' in run || run.summary !== undefined);
  const now = useClock(!done);

  useEffect(() => {
    let gone = false;
    calls.reset();
    let plan: ConcurrencyPlan;
    try {
      plan = controller.planConcurrency();
    } catch (err) {
      setRun({ error: errorMessage(err) });
      return;
    }
    setRun({ plan });
    controller.runConcurrency(plan, calls.add).then(
      (summary) => {
        if (gone) return;
        calls.flush();
        setRun({ plan, summary });
      },
      (err: unknown) => !gone && setRun({ error: errorMessage(err) }),
    );
    return () => void (gone = true);
  }, [runs]);

  const lanes = run && 'plan' in run ? run.plan.calls : [];
  const laneRows = lanes.length + (run && 'plan' in run && run.plan.left.length > 0 ? 1 : 0);
  const logHeight = Math.max(1, height - laneRows - 4);
  const pluginWidth = Math.max(0, ...lanes.map((c) => c.plugin.length));
  const commandWidth = Math.max(0, ...lanes.map((c) => c.command.length)) + ` #${ROUNDS}`.length;
  const log = calls.items.map((c) => <CallLine key={`${c.plugin}-${c.round}`} call={c} pluginWidth={pluginWidth} commandWidth={commandWidth} />);
  const scroll = useScroll(log.length, logHeight, { follow: true });

  useKeys((key) => {
    if (scroll.handleKey(key)) return true;
    if (isBack(key)) nav.back();
    else if (isChar(key, 'r') && done) setRuns((n) => n + 1);
    else return false;
    return true;
  }, active);

  if (run && 'error' in run) {
    return (
      <Box flexDirection="column" width={width} height={height}>
        <Text color="red" wrap="wrap">{`✖ ${run.error}`}</Text>
        <Text dimColor>{done ? 'r tries again · Esc back' : 'Esc back'}</Text>
      </Box>
    );
  }
  const summary = run?.summary;
  const barWidth = Math.max(ROUNDS, Math.min(24, width - pluginWidth - commandWidth - 30));
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Text wrap="truncate-end">
        <Text bold>{`${lanes.length} plugins × ${ROUNDS} rounds, all at once`}</Text>
        {summary ? '' : <Text color="cyan">{`  ${spinnerFrame(now)} running`}</Text>}
      </Text>
      {run && 'plan' in run && run.plan.left.length > 0 ? <Text dimColor wrap="truncate-end">{`left out, not running: ${run.plan.left.join(', ')}`}</Text> : null}
      {lanes.map((lane) => {
        const mine = calls.items.filter((c) => c.plugin === lane.plugin);
        const errors = mine.filter((c) => !c.ok).length;
        const filled = Math.round((mine.length / ROUNDS) * barWidth);
        const last = mine.at(-1);
        return (
          <Text key={lane.plugin} wrap="truncate-end">
            <Text color="cyan">{lane.plugin.padEnd(pluginWidth + 2)}</Text>
            {lane.command.padEnd(commandWidth - ` #${ROUNDS}`.length + 2)}
            <Text color={errors > 0 ? 'red' : 'green'}>{'█'.repeat(filled)}</Text>
            <Text dimColor>{'░'.repeat(barWidth - filled)}</Text>
            {` ${mine.length}/${ROUNDS}`}
            {last ? <Text dimColor>{`  last ${last.ms.toFixed(1)} ms`}</Text> : null}
            {errors > 0 ? <Text color="red">{`  ${errors} errors`}</Text> : null}
          </Text>
        );
      })}
      <Text dimColor wrap="truncate-end">{`── calls as they end (${scrollPosition(scroll, log.length, logHeight)})`}</Text>
      <ScrollView lines={log} scroll={scroll} width={width} height={logHeight} />
      <Box height={1} width={width} overflow="hidden">
        {summary ? <SummaryText summary={summary} /> : <Text dimColor>{`${calls.items.length} of ${lanes.length * ROUNDS} calls done`}</Text>}
      </Box>
      <Text dimColor wrap="truncate-end">{`↑↓ j/k PgUp/PgDn g/G scroll the calls${done ? ' · r runs again' : ''} · Esc back`}</Text>
    </Box>
  );
}

function SummaryText({ summary }: { summary: ConcurrencySummary }) {
  const ok = summary.errors === 0 && summary.unaudited.length === 0;
  const audit = summary.unaudited.length === 0 ? 'every call audited' : summary.unaudited.join('; ');
  return <Text color={ok ? 'green' : 'red'} wrap="truncate-end">{`${ok ? '✔' : '✖'} ${summaryLine(summary)}; ${audit}`}</Text>;
}

function CallLine({ call, pluginWidth, commandWidth }: { call: CallReport; pluginWidth: number; commandWidth: number }) {
  return (
    <>
      <Text dimColor>{`+${String(Math.round(call.atMs)).padStart(5)} ms  `}</Text>
      <Text color="cyan">{call.plugin.padEnd(pluginWidth + 2)}</Text>
      {`${call.command} #${call.round}`.padEnd(commandWidth + 2)}
      {call.ok ? <Text color="green">ok</Text> : <Text color="red">error</Text>}
      {call.ok ? ` ${call.ms.toFixed(1).padStart(6)} ms  ${call.text}` : ` ${call.text}`}
    </>
  );
}
