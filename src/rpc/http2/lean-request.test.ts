import { it } from 'node:test';
import assert from 'node:assert/strict';
import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';
import { connect, createServer, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { openRequest } from './lean-request.js';

/** A client session, still connecting, to a server that answers every request with 'answer'; both closed after `run`. */
async function withSession(run: (session: ClientHttp2Session) => Promise<void>): Promise<void> {
  const server = createServer((req, res) => req.on('data', () => undefined).on('end', () => res.end('answer')));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const session = connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  try {
    await run(session);
  } finally {
    session.close();
    await new Promise((resolve) => server.close(resolve));
  }
}

const answer = (stream: ClientHttp2Stream) =>
  new Promise<string>((resolve, reject) => {
    let body = '';
    stream.on('data', (chunk: Buffer) => (body += chunk)).on('end', () => resolve(body)).on('error', reject);
  });

it('opens a request that a server answers, without a warning, and leaves AsyncResource.bind as Node has it', async () => {
  const bind = AsyncResource.prototype.bind;
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
  process.on('warning', onWarning);
  try {
    await withSession(async (session) => {
      const stream = openRequest(session, { ':method': 'POST', ':path': '/x' });
      assert.equal(AsyncResource.prototype.bind, bind);
      stream.end('question');
      assert.equal(await answer(stream), 'answer');
      // Node's deprecation warnings are emitted on a later tick: the answer came after them.
      assert.deepEqual(warnings, []);
      // A request() that throws restores it too.
      assert.throws(() => openRequest(session, { ':method': 'POST', ':path': '/x', ':bogus': 'x' }), { code: 'ERR_HTTP2_INVALID_PSEUDOHEADER' });
      assert.equal(AsyncResource.prototype.bind, bind);
    });
  } finally {
    process.off('warning', onWarning);
  }
});

it('runs the deferred start of a request made while connecting in the async context of its caller', async () => {
  const context = new AsyncLocalStorage<string>();
  await withSession(async (session) => {
    assert.equal(session.connecting, true);
    const { stream, seen } = context.run('the caller', () => {
      const stream = openRequest(session, { ':method': 'POST', ':path': '/x' });
      // 'ready' is emitted from the connect callback that request() bound.
      const seen = new Promise<string | undefined>((resolve) => stream.once('ready', () => resolve(context.getStore())));
      return { stream, seen };
    });
    stream.end('question');
    assert.equal(await answer(stream), 'answer');
    assert.equal(await seen, 'the caller');
  });
});

it("leaves a bind someone else installed in place, and calls it", async () => {
  const nodeBind = AsyncResource.prototype.bind;
  let calls = 0;
  const theirs = function (this: AsyncResource, ...args: Parameters<typeof nodeBind>) {
    calls++;
    return nodeBind.apply(this, args);
  } as typeof nodeBind;
  AsyncResource.prototype.bind = theirs;
  try {
    await withSession(async (session) => {
      const stream = openRequest(session, { ':method': 'POST', ':path': '/x' });
      assert.equal(AsyncResource.prototype.bind, theirs);
      stream.end('question');
      assert.equal(await answer(stream), 'answer');
      assert.ok(calls >= 1, 'their bind was not called');
    });
  } finally {
    AsyncResource.prototype.bind = nodeBind;
  }
});
