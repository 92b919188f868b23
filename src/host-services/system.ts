/**
 * System: facts about the machine. Deliberately absent: the host's home
 * directory and anything about the host process itself (memory, pid, argv).
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { SystemDefinition } from '../gen/hst/host/v1/system.js';
import { Code, RpcError } from '../rpc/status.js';
import { hostService } from './operation.js';

/** MemAvailable from /proc/meminfo in bytes, or undefined where there is none. */
async function memAvailable(): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile('/proc/meminfo', 'utf8');
  } catch {
    return undefined;
  }
  const kib = /^MemAvailable:\s+(\d+) kB$/m.exec(text)?.[1];
  return kib === undefined ? undefined : Number(kib) * 1024;
}

export const systemService = hostService({
  definition: SystemDefinition,
  operations: {
    hostname: { capability: 'system', resource: () => 'hostname' },
    osInfo: { capability: 'system', resource: () => 'os' },
    cpuInfo: { capability: 'system', resource: () => 'cpu' },
    memoryInfo: { capability: 'system', resource: () => 'memory' },
    uptime: { capability: 'system', resource: () => 'uptime' },
    loadAverage: { capability: 'system', resource: () => 'loadavg' },
    now: { capability: 'system', resource: () => 'time' },
    userInfo: { capability: 'system', resource: () => 'user' },
  },
  create: () => ({
    hostname: () => ({ hostname: os.hostname() }),
    osInfo: () => ({ platform: os.platform(), release: os.release(), arch: os.arch(), type: os.type(), version: os.version() }),
    cpuInfo: ({ includeTimes }) => {
      const cpus = os.cpus();
      const first = cpus[0];
      return {
        // os.cpus() is empty where /proc/cpuinfo cannot be read; the scheduler still knows the count.
        count: cpus.length || os.availableParallelism(),
        model: first?.model.trim() ?? '',
        speedMhz: first?.speed ?? 0,
        times: includeTimes ? cpus.map(({ times: t }) => ({ userMs: t.user, niceMs: t.nice, sysMs: t.sys, idleMs: t.idle, irqMs: t.irq })) : [],
      };
    },
    memoryInfo: async () => {
      const free = os.freemem();
      return { total: os.totalmem(), free, available: (await memAvailable()) ?? free };
    },
    uptime: () => ({ seconds: os.uptime() }),
    loadAverage: () => {
      const [one = 0, five = 0, fifteen = 0] = os.loadavg();
      return { one, five, fifteen };
    },
    now: () => {
      const now = new Date();
      return {
        unixMs: now.getTime(),
        iso: now.toISOString(),
        timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
        utcOffsetMinutes: -now.getTimezoneOffset(),
      };
    },
    userInfo: () => {
      let user: os.UserInfo<string>;
      try {
        user = os.userInfo();
      } catch (err) {
        throw new RpcError(Code.UNAVAILABLE, `System/UserInfo user: the host's account has no user database entry`, { cause: err });
      }
      return { username: user.username, uid: user.uid, gid: user.gid, shell: user.shell ?? '' };
    },
  }),
});
