import { dial } from '../dial.js';
import type { Transport } from '../transport.js';
import { Http2Connection } from './client.js';
import { Http2GrpcServer } from './server.js';

/** gRPC over HTTP/2 on node:http2: the transport go-plugin peers speak. */
export const http2Transport: Transport = {
  createServer: (options) => new Http2GrpcServer(options),
  connect: (address, options) => new Http2Connection(() => dial(address), options),
  connectVia: (dialer, options) => new Http2Connection(dialer, options),
};

