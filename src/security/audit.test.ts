import { it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog, followAudit, readAudit, type AuditRecord } from './audit.js';

const rec = (i: number, decision: 'allow' | 'deny', plugin = 'a'): AuditRecord => ({
  time: new Date().toISOString(),
  plugin,
  instance: 'i',
  op: 'Filesystem/ReadFile',
  capability: 'fs.read',
  resource: `f${i}`,
  decision,
  rule: decision === 'deny' ? 'default deny' : 'fs.read:**',
  request_id: String(i),
  duration_us: 1,
});

it('appends one JSON line per decision, a denial on disk at once, and filters on read', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hst-audit-'));
  try {
    const log = new AuditLog({ path: join(dir, 'audit', 'audit.jsonl') });
    log.write(rec(1, 'allow'));
    log.write(rec(2, 'deny', 'b'));
    // Without close(): the denial must already be readable from the file.
    const lines = readFileSync(log.path, 'utf8').trim().split('\n');
    assert.equal(lines.length, 2);
    assert.equal(JSON.parse(lines[1] as string).decision, 'deny');
    assert.deepEqual(readAudit(log.path, { denied: true }).map((r) => r.resource), ['f2']);
    assert.deepEqual(readAudit(log.path, { plugin: 'a' }).map((r) => r.resource), ['f1']);
    log.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it('rotates by size and keeps reading across the rotated files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hst-audit-'));
  try {
    const path = join(dir, 'audit.jsonl');
    const log = new AuditLog({ path, maxBytes: 1_000, keep: 2 });
    for (let i = 0; i < 30; i++) log.write(rec(i, 'allow'));
    log.close();
    assert.ok(existsSync(`${path}.1`) && existsSync(`${path}.2`));
    assert.equal(existsSync(`${path}.3`), false);
    const all = readAudit(path);
    assert.ok(all.length < 30 && all.length > 5);
    assert.equal(all[all.length - 1]?.resource, 'f29');
    const order = all.map((r) => Number(r.request_id));
    assert.deepEqual(order, [...order].sort((a, b) => a - b));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it('follows new records as they are appended', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hst-audit-'));
  const controller = new AbortController();
  try {
    const path = join(dir, 'audit.jsonl');
    const log = new AuditLog({ path });
    log.write(rec(0, 'deny'));
    const seen: string[] = [];
    followAudit(path, { denied: true }, (r) => seen.push(r.resource), controller.signal);
    log.write(rec(1, 'allow'));
    log.write(rec(2, 'deny'));
    const end = Date.now() + 3_000;
    while (seen.length < 1 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(seen, ['f2']);
    log.close();
  } finally {
    controller.abort();
    rmSync(dir, { recursive: true, force: true });
  }
});
