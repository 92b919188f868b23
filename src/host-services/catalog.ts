/** Every host-services domain, in the order they are registered. */
import { environmentService } from './environment.js';
import { eventsService } from './events.js';
import { filesystemService } from './filesystem.js';
import { fileHandlesService } from './handles.js';
import { httpService } from './http.js';
import { keyValueService } from './kv.js';
import { logService } from './log.js';
import type { HostServiceModule } from './operation.js';
import { processesService } from './processes.js';
import { systemService } from './system.js';
import { tempService } from './temp.js';

export const allHostServices: HostServiceModule<any>[] = [
  filesystemService,
  fileHandlesService,
  environmentService,
  processesService,
  tempService,
  systemService,
  keyValueService,
  eventsService,
  logService,
  httpService,
];
