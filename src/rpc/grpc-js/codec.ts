import type { MessageType } from '../definition.js';

/** grpc-js wants Buffers; wrap the encoder's bytes without copying them. */
export function serializer<T>(type: MessageType<T>): (message: T) => Buffer {
  return (message) => {
    const bytes = type.encode(message).finish();
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

export function deserializer<T>(type: MessageType<T>): (bytes: Buffer) => T {
  return (bytes) => type.decode(bytes);
}
