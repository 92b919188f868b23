import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryLogger } from '../log.js';
import { formatHclogLine, formatHclogTime, levelFromString, parseHclogLine, StderrLogRouter } from './hclog.js';

describe('hclog format', () => {
  it("uses hclog's time layout with exactly six fractional digits", () => {
    const line = formatHclogLine('info', 'hi', 'mod', {}, Date.UTC(2026, 0, 2, 3, 4, 5) * 1000 + 7);
    const ts = JSON.parse(line)['@timestamp'] as string;
    assert.match(ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d)$/);
    assert.match(ts, /\.000007(Z|[+-]\d\d:\d\d)$/);
    if (new Date().getTimezoneOffset() === 0) assert.equal(ts, '2026-01-02T03:04:05.000007Z');
    assert.match(formatHclogTime(Date.UTC(2026, 0, 1) * 1000 + 123456), /\.123456/);
  });

  it('writes string @message and @level, sorted keys, and flattens errors', () => {
    const line = formatHclogLine('warn', 42 as unknown as string, 'kv', { z: 1, a: new Error('bad'), '@level': 'spoof' }, 0);
    const obj = JSON.parse(line);
    assert.equal(obj['@message'], '42');
    assert.equal(obj['@level'], 'warn');
    assert.equal(obj.a, 'bad');
    assert.deepEqual(Object.keys(obj), ['@level', '@message', '@module', '@timestamp', 'a', 'z']);
  });

  it('parses levels as hclog does', () => {
    assert.equal(levelFromString('WARNING'), 'warn');
    assert.equal(levelFromString(' Error '), 'error');
    assert.equal(levelFromString('fatal'), undefined);
    assert.equal(levelFromString(3), undefined);
  });

  it('reads JSON lines back, and refuses everything else', () => {
    const entry = parseHclogLine('{"@level":"debug","@message":"m","@module":"x","@timestamp":"t","k":"v"}');
    assert.deepEqual(entry, { level: 'debug', message: 'm', module: 'x', timestamp: 't', fields: { k: 'v' } });
    assert.equal(parseHclogLine('plain text'), undefined);
    assert.equal(parseHclogLine('{broken'), undefined);
    assert.equal(parseHclogLine('[1,2]'), undefined);
  });
});

describe('stderr routing', () => {
  it('maps levels, honours [LEVEL] prefixes and keeps raw lines at debug', () => {
    const logger = new MemoryLogger();
    const router = new StderrLogRouter(logger);
    router.line('{"@level":"error","@message":"json error","k":1}');
    router.line('{"no":"level"}');
    router.line('[WARN] prefixed');
    router.line('just text');
    assert.deepEqual(
      logger.entries.map((e) => [e.level, e.message]),
      [
        ['error', 'json error'],
        ['debug', '{"no":"level"}'],
        ['warn', '[WARN] prefixed'],
        ['debug', 'just text'],
      ],
    );
    assert.equal(logger.entries[0]?.fields.k, 1);
  });

  it('turns everything after a panic into errors, as go-plugin does', () => {
    const logger = new MemoryLogger();
    const router = new StderrLogRouter(logger);
    router.line('before');
    router.line('panic: boom');
    router.line('goroutine 1 [running]:');
    router.line('[DEBUG] still prefixed');
    assert.deepEqual(
      logger.entries.map((e) => e.level),
      ['debug', 'error', 'error', 'debug'],
    );
    const fatal = new MemoryLogger();
    new StderrLogRouter(fatal).line('fatal error: all goroutines are asleep');
    assert.equal(fatal.entries[0]?.level, 'error');
  });
});
