/**
 * The audit log, live: the decisions so far and each new one as it is
 * written (allow in green, deny in red), following the end until scrolled
 * up. p cycles the plugin shown, d shows only denials.
 */
import { useEffect, useState } from 'react';
import { Box, Text } from 'ink';
import type { AuditRecord } from '../../security/audit.js';
import { isBack, isChar } from './keys.js';
import { useKeys } from './key-router.js';
import type { ScreenProps } from './screen.js';
import { overflowOf, scrollPosition, ScrollView, useScroll } from './scroll-view.js';
import { useBatched } from './use-batched.js';

/** The newest records kept in view; the file keeps the rest. */
const KEPT = 5000;

export function AuditView({ controller, state, nav, width, height, active }: ScreenProps) {
  const records = useBatched<AuditRecord>(100);
  const [plugin, setPlugin] = useState<string | undefined>();
  const [deniedOnly, setDeniedOnly] = useState(false);

  useEffect(() => {
    const stop = new AbortController();
    records.reset(controller.auditRecords(KEPT));
    controller.followAudit(records.add, stop.signal);
    return () => stop.abort();
  }, []);

  const kept = records.items.length > KEPT ? records.items.slice(-KEPT) : records.items;
  const shown = kept.filter((r) => (!plugin || r.plugin === plugin) && (!deniedOnly || r.decision === 'deny'));
  const plugins = [...new Set([...state.plugins.map((p) => p.name), ...kept.map((r) => r.plugin)])].sort();
  const viewHeight = Math.max(1, height - 2);
  const pluginWidth = Math.max(6, ...plugins.map((p) => p.length));
  const scroll = useScroll(shown.length, viewHeight, { follow: true, overflow: overflowOf(shown.map((r) => auditColumns(r, pluginWidth).join('')), width) });
  const following = scroll.offset >= shown.length - viewHeight;

  useKeys((key) => {
    if (scroll.handleKey(key)) return true;
    if (isBack(key)) nav.back();
    else if (isChar(key, 'p')) setPlugin((p) => (p === undefined ? plugins[0] : plugins[plugins.indexOf(p) + 1]));
    else if (isChar(key, 'd')) setDeniedOnly((d) => !d);
    else return false;
    return true;
  }, active);

  const denials = kept.filter((r) => r.decision === 'deny').length;
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Text wrap="truncate-end">
        <Text bold>{`plugin: ${plugin ?? 'all'}`}</Text>
        {' · '}
        <Text bold color={deniedOnly ? 'red' : undefined}>{deniedOnly ? 'denials only' : 'allowed and denied'}</Text>
        {` · ${shown.length} of ${kept.length} records (${denials} denied)`}
        {following ? <Text color="cyan"> · following</Text> : null}
      </Text>
      <ScrollView lines={shown.map((r, i) => <AuditLine key={i} record={r} pluginWidth={pluginWidth} />)} scroll={scroll} width={width} height={viewHeight} />
      <Text dimColor wrap="truncate-end">{`${scrollPosition(scroll, shown.length, viewHeight)} · p plugin · d denials only · j/k g/G PgUp/PgDn ←→ · G follows · Esc back`}</Text>
    </Box>
  );
}

/** A record's columns: time, decision, plugin and what, the deciding rule, and why an allowed call failed. */
function auditColumns(r: AuditRecord, pluginWidth: number): [string, string, string, string, string] {
  const what = r.event ? `${r.event} ${r.capability}`.trim() : `${r.op} ${r.resource}`;
  return [`${r.time.slice(11, 23)}  `, r.decision === 'deny' ? 'DENY ' : 'allow', `  ${r.plugin.padEnd(pluginWidth)}  ${what}  `, `[${r.rule}]`, r.error ? `  failed: ${r.error}` : ''];
}

function AuditLine({ record, pluginWidth }: { record: AuditRecord; pluginWidth: number }) {
  const [time, decision, what, rule, error] = auditColumns(record, pluginWidth);
  return (
    <>
      <Text dimColor>{time}</Text>
      <Text color={record.decision === 'deny' ? 'red' : 'green'} bold={record.decision === 'deny'}>
        {decision}
      </Text>
      {what}
      <Text dimColor>{rule}</Text>
      <Text color="yellow">{error}</Text>
    </>
  );
}
