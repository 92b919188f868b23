/**
 * The socket pair the host shares with a plugin it starts, made before the
 * start so the host's end is a bare fd the session reads with its own
 * buffers (see FrameReader). Without hst's addon there is none: the runner
 * makes the pair ('pipe') and the session reads the stream Node gives.
 */
import { addon, addonProblem, errnoError } from '../../util/native-addon.js';

/** [the host's end, the plugin's end], both close-on-exec; undefined without the addon. */
export function socketPair(): [number, number] | undefined {
  // An addon built by an older hst has no socketPair until npm rebuilds it.
  if (typeof addon?.socketPair !== 'function') return undefined;
  const fds = new Int32Array(2);
  const rc = addon.socketPair(fds);
  if (rc < 0) throw errnoError(rc, 'socketpair');
  return [fds[0] as number, fds[1] as number];
}

/** Why the host's end of the pair is read as a stream (slower) rather than into place, for `hst inspect`; undefined when it is not. */
export function socketPairProblem(): string | undefined {
  if (typeof addon?.socketPair === 'function') return undefined;
  return addonProblem ?? 'the hst-fs addon was built by an older hst and has no socketPair: npm rebuild';
}
