import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { covers, parseCapabilityString } from './capability.js';
import { Policy } from './policy.js';

const c = parseCapabilityString;

describe('capability matching', () => {
  it('fs globs: * stays in one directory, ** crosses, dotfiles need naming', () => {
    assert.equal(covers(c('fs.read:docs/*'), 'fs.read', 'docs/a.md'), true);
    assert.equal(covers(c('fs.read:docs/*'), 'fs.read', 'docs/sub/a.md'), false);
    assert.equal(covers(c('fs.read:docs/**'), 'fs.read', 'docs/sub/a.md'), true);
    assert.equal(covers(c('fs.read:docs/**'), 'fs.read', 'docs/.env'), false);
    assert.equal(covers(c('fs.read:**'), 'fs.read', '.git/config'), false);
    assert.equal(covers(c('fs.read:docs/.env'), 'fs.read', 'docs/.env'), true);
    assert.equal(covers(c('fs.read:docs/**'), 'fs.write', 'docs/a.md'), false);
    assert.equal(covers(c('fs.read:**'), 'fs.read', '.'), true, 'the workspace root under **');
    assert.equal(covers(c('fs.read:docs/**'), 'fs.read', '.'), false);
    assert.equal(covers(c('fs.read:*'), 'fs.read', '.'), false);
  });

  it('env names and prefixes, including expansions and listings', () => {
    assert.equal(covers(c('env:HOME'), 'env', 'HOME'), true);
    assert.equal(covers(c('env:HOME'), 'env', 'HOMEX'), false);
    assert.equal(covers(c('env:APP_*'), 'env', 'APP_PORT'), true);
    assert.equal(covers(c('env:APP_*'), 'env', 'APP_PORT,APP_HOST'), true);
    assert.equal(covers(c('env:APP_*'), 'env', 'APP_PORT,PATH'), false);
    assert.equal(covers(c('env:APP_*'), 'env', '*'), false);
  });

  it('exec is the exact program path', () => {
    assert.equal(covers(c('exec:/usr/bin/git'), 'exec', '/usr/bin/git'), true);
    assert.equal(covers(c('exec:/usr/bin/git'), 'exec', '/usr/bin/git2'), false);
  });

  it('net hosts, ports and subdomains; only named hosts are explicit', () => {
    assert.equal(covers(c('net:api.example.com'), 'net', 'api.example.com:443'), true);
    assert.equal(covers(c('net:api.example.com:443'), 'net', 'api.example.com:80'), false);
    assert.equal(covers(c('net:*.example.com'), 'net', 'a.b.example.com:443'), true);
    assert.equal(covers(c('net:*.example.com'), 'net', 'example.com:443'), false);
    assert.equal(covers(c('net:*.example.com'), 'net', 'evilexample.com:443'), false);
    assert.equal(covers(c('net:*.example.com'), 'net!explicit', 'a.example.com:443'), false);
    assert.equal(covers(c('net:127.0.0.1:8080'), 'net!explicit', '127.0.0.1:8080'), true);
    assert.equal(covers(c('net:[::1]:8080'), 'net', '[::1]:8080'), true);
  });

  it('topics: * is one segment, a final > the rest, and subscriptions stay inside the grant', () => {
    assert.equal(covers(c('events.publish:orders.*'), 'events.publish', 'orders.created'), true);
    assert.equal(covers(c('events.publish:orders.*'), 'events.publish', 'orders.a.b'), false);
    assert.equal(covers(c('events.subscribe:orders.>'), 'events.subscribe', 'orders.a.b'), true);
    assert.equal(covers(c('events.subscribe:orders.*'), 'events.subscribe', 'orders.*'), true);
    assert.equal(covers(c('events.subscribe:orders.*'), 'events.subscribe', 'orders.>'), false);
    assert.equal(covers(c('events.subscribe:orders.*'), 'events.subscribe', '*.created'), false);
  });

  it('refuses malformed capability strings', () => {
    assert.throws(() => c('fs.raed:x'), /is not a capability/);
    assert.throws(() => c('kv:x'), /takes no pattern/);
    assert.throws(() => c('fs.read'), /needs a pattern/);
  });
});

describe('policy', () => {
  it('denies by default and names the deciding rule', () => {
    const p = new Policy();
    p.setManifest('a', ['fs.read:docs/**', 'kv']);
    assert.deepEqual(p.decide('a', 'fs.read', 'docs/x'), { allowed: true, rule: 'fs.read:docs/**' });
    assert.deepEqual(p.decide('a', 'fs.read', 'src/x'), { allowed: false, rule: 'default deny' });
    assert.deepEqual(p.decide('b', 'kv', 'k'), { allowed: false, rule: 'default deny' });
  });

  it('deny rules beat allow rules, from the manifest and the operator', () => {
    const p = new Policy({ deny: ['net:*.internal'], plugins: { a: { deny: ['fs.read:docs/private/**'] } } });
    p.setManifest('a', ['fs.read:docs/**', 'deny:fs.read:docs/secret.md', 'net:*.internal']);
    assert.deepEqual(p.decide('a', 'fs.read', 'docs/secret.md'), { allowed: false, rule: 'deny:fs.read:docs/secret.md' });
    assert.equal(p.decide('a', 'fs.read', 'docs/private/x').rule, 'fs.read:docs/private/**');
    assert.equal(p.decide('a', 'net', 'db.internal:5432').allowed, false);
  });

  it('an operator allow list only grants less', () => {
    const p = new Policy({ plugins: { a: { allow: ['fs.read:docs/public/**', 'kv'] } } });
    p.setManifest('a', ['fs.read:docs/**', 'system']);
    assert.equal(p.decide('a', 'fs.read', 'docs/public/x').allowed, true);
    assert.deepEqual(p.decide('a', 'fs.read', 'docs/other/x'), { allowed: false, rule: 'operator policy for a' });
    assert.equal(p.decide('a', 'kv', 'k').allowed, false, 'the operator list cannot add what the manifest lacks');
    assert.equal(p.decide('a', 'system', 'os').allowed, false);
  });

  it('grants and revokes at run time, with change events', () => {
    const p = new Policy();
    const changes: string[] = [];
    p.on('change', (ch) => changes.push(`${ch.action} ${ch.plugin} ${ch.capability}`));
    p.setManifest('a', ['fs.read:docs/**']);
    p.grant('a', 'kv');
    assert.equal(p.decide('a', 'kv', 'x').allowed, true);
    p.revoke('a', 'kv');
    p.revoke('a', 'fs.read:docs/**');
    assert.equal(p.decide('a', 'kv', 'x').allowed, false);
    assert.equal(p.decide('a', 'fs.read', 'docs/x').allowed, false);
    assert.deepEqual(p.effective('a'), []);
    p.grant('a', 'fs.read:docs/**');
    assert.deepEqual(p.effective('a'), ['fs.read:docs/**']);
    assert.deepEqual(changes, ['grant a kv', 'revoke a kv', 'revoke a fs.read:docs/**', 'grant a fs.read:docs/**']);
  });

  it('requires every resource of a two-path operation, and routes $tmp to temp', () => {
    const p = new Policy();
    p.setManifest('a', ['fs.write:out/**', 'temp']);
    assert.equal(p.decide('a', 'fs.write', ['out/a', 'out/b']).allowed, true);
    assert.equal(p.decide('a', 'fs.write', ['out/a', 'etc/b']).allowed, false);
    assert.equal(p.decide('a', 'fs.write', '$tmp/x').rule, 'temp');
    p.revoke('a', 'temp');
    assert.equal(p.decide('a', 'fs.read', '$tmp/x').allowed, false);
  });
});
