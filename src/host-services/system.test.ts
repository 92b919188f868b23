import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import { SystemDefinition } from '../gen/hst/host/v1/system.js';
import { hostHarness, withHarness } from '../../test/support/host-harness.js';
import { systemService } from './system.js';

describe('System service', () => {
  it('reports the machine, and declares the system capability per subject', () =>
    withHarness({ modules: [systemService] }, async (h) => {
      const system = (await h.plugin('plugin-a')).client(SystemDefinition);

      assert.equal((await system.hostname({})).hostname, os.hostname());

      const info = await system.osInfo({});
      assert.deepEqual(info, { platform: os.platform(), release: os.release(), arch: os.arch(), type: os.type(), version: os.version() });

      const cpu = await system.cpuInfo({});
      assert.ok(cpu.count >= 1);
      assert.equal(cpu.times.length, 0, 'times only when asked');
      const withTimes = await system.cpuInfo({ includeTimes: true });
      assert.equal(withTimes.times.length, os.cpus().length);
      assert.ok(withTimes.times.every((t) => t.userMs >= 0 && t.idleMs >= 0));

      const mem = await system.memoryInfo({});
      assert.equal(mem.total, os.totalmem());
      assert.ok(mem.free > 0 && mem.free <= mem.total);
      assert.ok(mem.available > 0 && mem.available <= mem.total);

      const up = await system.uptime({});
      assert.ok(Math.abs(up.seconds - os.uptime()) < 5);

      const load = await system.loadAverage({});
      for (const v of [load.one, load.five, load.fifteen]) assert.ok(v >= 0);

      const before = Date.now();
      const now = await system.now({});
      assert.ok(now.unixMs >= before && now.unixMs <= Date.now());
      assert.equal(new Date(now.iso).getTime(), now.unixMs);
      assert.equal(now.timezone, Intl.DateTimeFormat().resolvedOptions().timeZone);
      assert.equal(now.utcOffsetMinutes, 0 - new Date(now.unixMs).getTimezoneOffset());

      const user = await system.userInfo({});
      const me = os.userInfo();
      assert.deepEqual(user, { username: me.username, uid: me.uid, gid: me.gid, shell: me.shell ?? '' });
      assert.ok(!JSON.stringify(user).includes(me.homedir), 'the home directory is not disclosed');

      assert.deepEqual(
        h.records.map((r) => [r.operation, r.capability, r.resource, r.ok]),
        [
          ['System/Hostname', 'system', 'hostname', true],
          ['System/OsInfo', 'system', 'os', true],
          ['System/CpuInfo', 'system', 'cpu', true],
          ['System/CpuInfo', 'system', 'cpu', true],
          ['System/MemoryInfo', 'system', 'memory', true],
          ['System/Uptime', 'system', 'uptime', true],
          ['System/LoadAverage', 'system', 'loadavg', true],
          ['System/Now', 'system', 'time', true],
          ['System/UserInfo', 'system', 'user', true],
        ],
      );
    }));

  it('is refused as a whole when the policy denies the system capability', async () => {
    const h = await hostHarness({
      modules: [systemService],
      authorize: ({ capability, resource }) => {
        if (capability === 'system' && resource === 'user') throw Object.assign(new Error('denied'), { code: 'EPERM' });
      },
    });
    try {
      const system = (await h.plugin('plugin-a')).client(SystemDefinition);
      await assert.rejects(system.userInfo({}), /PERMISSION_DENIED: .*System\/UserInfo user/);
      assert.ok((await system.hostname({})).hostname);
    } finally {
      await h.close();
    }
  });
});
