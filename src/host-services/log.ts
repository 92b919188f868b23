/**
 * Log: plugin entries in the host's log, tagged with who the plugin is as the
 * host knows it. Fields the plugin sends under the host's own names are kept,
 * renamed, so an entry can never pass for another plugin's or the host's.
 */
import { LogDefinition, LogLevel as WireLevel } from '../gen/hst/host/v1/log.js';
import type { LogLevel } from '../log.js';
import { invalid } from './errors.js';
import { hostService } from './operation.js';

const LEVELS: Record<number, LogLevel> = {
  [WireLevel.LOG_LEVEL_UNSPECIFIED]: 'info',
  [WireLevel.LOG_LEVEL_TRACE]: 'trace',
  [WireLevel.LOG_LEVEL_DEBUG]: 'debug',
  [WireLevel.LOG_LEVEL_INFO]: 'info',
  [WireLevel.LOG_LEVEL_WARN]: 'warn',
  [WireLevel.LOG_LEVEL_ERROR]: 'error',
};

/** The identity the host stamps, and the keys pino's own record uses. */
const HOST_FIELDS = new Set(['client_id', 'owner', 'name', 'level', 'time', 'msg', 'pid', 'hostname']);

/** The level's name, or the number when it is not one we know (the resource of an invalid call). */
function levelName(level: number): string {
  return LEVELS[level] ?? String(level);
}

export const logService = hostService({
  definition: LogDefinition,
  operations: {
    log: { capability: 'log', resource: (r) => levelName(r.level) },
  },
  create(caller, host) {
    const logger = host.logger.child({ client_id: caller.clientId, owner: caller.owner });
    return {
      log({ level, message, fields }) {
        const name = LEVELS[level];
        if (!name) throw invalid(`Log/Log ${level}: unknown level`);
        const entry: Record<string, string> = {};
        for (const [key, value] of Object.entries(fields)) entry[HOST_FIELDS.has(key) ? `claimed_${key}` : key] = value;
        logger[name](entry, message);
        return {};
      },
    };
  },
});
