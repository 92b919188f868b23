/**
 * Our TS host with the Python plugin built on sdk/python (grpcio from PyPI).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { PluginClient } from '../../src/index.js';
import { MemoryLogger } from '../../src/log.js';
import { handshake, kvPlugin, PLUGIN_NAME } from '../../examples/kv/shared.js';
import { checkKvRoundTrip, killCleanly } from '../support/contracts.js';
import { collector, eventually, inTempDir, pythonPeer, repo } from '../support/peers.js';

const peer = pythonPeer();
const skip = 'skip' in peer ? peer.skip : false;
const python = 'python' in peer ? peer.python : 'python3';
const kvPluginPy = join(repo, 'interop', 'python', 'kv_plugin.py');

describe('TS host loads the Python plugin', { skip }, () => {
  it('has up-to-date generated Python code', () => {
    const out = execFileSync(python, [join(repo, 'sdk', 'python', 'check_generated.py')], { encoding: 'utf8' });
    assert.match(out, /generated Python code is up to date/);
  });

  for (const autoMTLS of [false, true]) {
    it(`KV${autoMTLS ? ' with AutoMTLS' : ''}: calls and GRPCStdio`, () =>
      inTempDir(async (dir) => {
        const stdout = collector();
        const stderr = collector();
        const logger = new MemoryLogger();
        const client = new PluginClient({
          name: 'py-kv',
          handshake,
          plugins: { [PLUGIN_NAME]: kvPlugin() },
          command: { path: python, args: [kvPluginPy], cwd: dir },
          autoMTLS,
          logger,
          syncStdout: stdout.stream,
          syncStderr: stderr.stream,
          stdin: 'ignore',
        });
        await checkKvRoundTrip(client, 'plugin-python', autoMTLS);
        assert.ok(await eventually(() => stdout.text().includes('put a') && stderr.text().includes('get a')), `${stdout.text()} | ${stderr.text()}`);
        await killCleanly(client, logger);
      }));
  }
});
