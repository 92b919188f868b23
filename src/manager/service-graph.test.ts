import { it } from 'node:test';
import assert from 'node:assert/strict';
import { serviceGraph, type ServiceNode } from './service-graph.js';

const node = (name: string, provides: string[] = [], requires: string[] = [], unrunnable?: string): ServiceNode => ({ name, provides, requires, ...(unrunnable ? { unrunnable } : {}) });
const HOST = new Set(['hst.host.v1.Filesystem']);

it('providers come before consumers; the host\'s own services need no provider', () => {
  const g = serviceGraph([node('app', [], ['acme.db.v1.Db', 'acme.mail.v1.Mail', 'hst.host.v1.Filesystem']), node('db', ['acme.db.v1.Db']), node('mail', ['acme.mail.v1.Mail'], ['acme.db.v1.Db'])], HOST);
  assert.deepEqual([...g.problems], []);
  assert.deepEqual(g.providers.get('app'), ['db', 'mail']);
  assert.deepEqual(g.providers.get('mail'), ['db']);
  assert.deepEqual(g.providers.get('db'), []);
});

it('each bad configuration is one line naming the plugins and services; consumers of a broken provider say why', () => {
  const g = serviceGraph(
    [
      node('lonely', [], ['no.such.v1.Service']),
      node('a', ['x.v1.Dup']),
      node('b', ['x.v1.Dup']),
      node('wants-dup', [], ['x.v1.Dup']),
      node('p', ['c.v1.P'], ['c.v1.Q']),
      node('r', ['c.v1.Q'], ['c.v1.P']),
      node('self', ['s.v1.S'], ['s.v1.S']),
      node('gone', ['g.v1.G'], [], 'bin/gone not found; run npm run build:plugins'),
      node('needs-gone', ['n.v1.N'], ['g.v1.G']),
      node('needs-needs-gone', [], ['n.v1.N']),
    ],
    HOST,
  );
  assert.deepEqual(Object.fromEntries(g.problems), {
    lonely: 'requires service no.such.v1.Service, which no plugin provides and the host does not serve',
    a: 'service x.v1.Dup is provided by "a" and "b"; only one plugin may provide a service',
    b: 'service x.v1.Dup is provided by "a" and "b"; only one plugin may provide a service',
    'wants-dup': 'requires service x.v1.Dup, which "a" and "b" all provide',
    p: 'is in a cycle of required services: "p" (requires c.v1.Q) -> "r" (requires c.v1.P) -> "p"',
    r: 'is in a cycle of required services: "p" (requires c.v1.Q) -> "r" (requires c.v1.P) -> "p"',
    self: 'requires service s.v1.S, which it provides itself',
    'needs-gone': 'requires service g.v1.G from "gone", which will not run: bin/gone not found; run npm run build:plugins',
    'needs-needs-gone': 'requires service n.v1.N from "needs-gone", which will not run: requires service g.v1.G from "gone", which will not run: bin/gone not found; run npm run build:plugins',
  });
});
