/**
 * The largest message either transport takes. Go hosts raise their limits
 * to MaxInt32 and expect plugins not to choke on large messages, so hst
 * hosts and plugins take the same.
 */
export const MAX_MESSAGE_BYTES = 2 ** 31 - 1;
