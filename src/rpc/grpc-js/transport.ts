import type { Transport } from '../transport.js';
import { GrpcJsConnection } from './client.js';
import { GrpcJsServer } from './server.js';

/** gRPC over HTTP/2 with grpc-js: the transport go-plugin peers speak. */
export const grpcJsTransport: Transport = {
  createServer: (options) => new GrpcJsServer(options),
  connect: (address, options) => new GrpcJsConnection(address, options),
};
