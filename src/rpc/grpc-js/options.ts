/**
 * Channel options shared by our grpc-js servers and clients. Go hosts raise
 * their limits to MaxInt32 and expect plugins not to choke on large
 * messages, and grpc-go servers punish eager keepalive pings, so we send none.
 */
export const MAX_MESSAGE_BYTES = 2 ** 31 - 1;

export const channelOptions = {
  'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
  'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
} as const;
