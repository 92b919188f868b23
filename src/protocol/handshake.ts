/**
 * The one line a plugin prints on stdout to tell its host where to connect:
 * `CORE|APP|NETWORK|ADDR|PROTOCOL|CERT[|MUX]`. Errors carry go-plugin's own
 * wording first, so people can search for them, then what we know more.
 */
import { CORE_PROTOCOL_VERSION, NATIVE_NETWORK, NATIVE_PROTOCOL, type Protocol } from './constants.js';
import type { Address, Network } from '../rpc/transport.js';

/**
 * A handshake's network and address: go-plugin's, or `socketpair` and the
 * plugin's fd of the pair when it accepted hst's native transport.
 */
export type HandshakeAddress = Address | { network: typeof NATIVE_NETWORK; address: string };

export interface HandshakeInfo {
  coreVersion: number;
  appVersion: number;
  address: HandshakeAddress;
  protocol: Protocol | string;
  /** base64 (RawStd) DER of the plugin's certificate under AutoMTLS. */
  certificate?: string;
  /** Present only when the host asked for broker multiplexing. */
  multiplex?: boolean;
}

export function formatHandshake(info: HandshakeInfo): string {
  const fields = [
    String(info.coreVersion),
    String(info.appVersion),
    info.address.network,
    info.address.address,
    info.protocol,
    info.certificate ?? '',
  ];
  // An old host splits into at most 6 fields: a 7th only when it was asked for.
  if (info.multiplex !== undefined) fields.push(String(info.multiplex));
  return fields.join('|');
}

export class HandshakeError extends Error {
  override readonly name = 'HandshakeError';
  constructor(
    message: string,
    /** Which go-plugin failure this is, for diagnosis and tests. */
    readonly kind: 'unrecognized' | 'core-version' | 'app-version' | 'network' | 'protocol' | 'certificate' | 'multiplex',
  ) {
    super(message);
  }
}

export interface HandshakeExpectations {
  /** App protocol versions the host offered. */
  versions: readonly number[];
  allowedProtocols: readonly string[];
  /** The host asked for broker multiplexing. */
  multiplex?: boolean;
}

/** Parses a handshake line the way a go-plugin host does. */
export function parseHandshake(rawLine: string, expect: HandshakeExpectations): HandshakeInfo {
  const line = rawLine.trim();
  const parts = line.split('|');
  if (parts.length < 4) {
    throw new HandshakeError(`Unrecognized remote plugin message: ${line}`, 'unrecognized');
  }
  const [core, app, network, address] = parts as [string, string, string, string];

  const coreVersion = parseGoInt(core);
  if (coreVersion === undefined) {
    throw new HandshakeError(`error parsing core protocol version: invalid syntax ${JSON.stringify(core)}`, 'core-version');
  }
  if (coreVersion !== CORE_PROTOCOL_VERSION) {
    throw new HandshakeError(
      `incompatible core API version with plugin. Plugin version: ${core}, Core version: ${CORE_PROTOCOL_VERSION}\n\n` +
        'To fix this, the plugin usually only needs to be recompiled.\nPlease report this to the plugin author',
      'core-version',
    );
  }

  const appVersion = parseGoInt(app);
  if (appVersion === undefined) {
    throw new HandshakeError(`Error parsing protocol version ${JSON.stringify(app)}: invalid syntax`, 'app-version');
  }
  if (!expect.versions.includes(appVersion)) {
    throw new HandshakeError(
      `incompatible API version with plugin. Plugin version: ${appVersion}, Client versions: [${expect.versions.join(' ')}]`,
      'app-version',
    );
  }

  // go-plugin defaults to net/rpc when the field is absent.
  const protocol = parts.length >= 5 ? (parts[4] as string) : 'netrpc';
  // The socket pair is a network only for the protocol that was offered on it.
  const native = network === NATIVE_NETWORK && protocol === NATIVE_PROTOCOL && expect.allowedProtocols.includes(NATIVE_PROTOCOL);
  if (network !== 'unix' && network !== 'tcp' && !native) {
    throw new HandshakeError(`unknown address type: ${address}`, 'network');
  }
  if (!expect.allowedProtocols.includes(protocol) || (protocol === NATIVE_PROTOCOL && !native)) {
    const supported = expect.allowedProtocols.filter((p) => p !== NATIVE_PROTOCOL || native);
    throw new HandshakeError(`unsupported plugin protocol ${JSON.stringify(protocol)}. Supported: [${supported.join(' ')}]`, 'protocol');
  }

  const info: HandshakeInfo = { coreVersion, appVersion, address: { network: network as Network, address }, protocol };
  // Shorter values are leftovers some old plugins print; go-plugin ignores them too.
  const cert = parts[5];
  if (cert !== undefined && cert.length > 50) {
    if (!/^[A-Za-z0-9+/]+$/.test(cert)) {
      throw new HandshakeError('error parsing server cert: illegal base64 data', 'certificate');
    }
    info.certificate = cert;
  }

  const mux = parts[6];
  if (expect.multiplex && protocol === 'grpc') {
    if (mux === undefined) {
      throw new HandshakeError(
        'client requested gRPC broker multiplexing but plugin does not support the feature; ' +
          'for Go plugins, you will need to update the github.com/hashicorp/go-plugin dependency and recompile',
        'multiplex',
      );
    }
    const value = parseGoBool(mux);
    if (value === undefined) {
      throw new HandshakeError(`error parsing ${JSON.stringify(mux)} as a boolean for gRPC broker multiplexing support`, 'multiplex');
    }
    if (!value) {
      throw new HandshakeError('client requested gRPC broker multiplexing but plugin does not support the feature', 'multiplex');
    }
    info.multiplex = true;
  } else if (mux !== undefined) {
    info.multiplex = parseGoBool(mux) ?? false;
  }
  return info;
}

/** strconv.Atoi: optional sign, decimal digits only. */
function parseGoInt(s: string): number | undefined {
  return /^[+-]?\d+$/.test(s) ? Number.parseInt(s, 10) : undefined;
}

/** strconv.ParseBool. */
export function parseGoBool(s: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  return undefined;
}

/**
 * Plugin side: the highest version the plugin serves that the host offered;
 * when none matches, the lowest the plugin has, so that the host reports the
 * mismatch with both lists (go-plugin does the same).
 */
export function negotiateVersion(
  pluginVersions: readonly number[],
  hostVersionsEnv: string | undefined,
): number {
  if (pluginVersions.length === 0) throw new Error('serve: the plugin offers no protocol versions');
  const offered = new Set(
    (hostVersionsEnv ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')
      .map((s) => parseGoInt(s))
      .filter((n): n is number => n !== undefined),
  );
  const sorted = [...pluginVersions].sort((a, b) => b - a);
  return sorted.find((v) => offered.has(v)) ?? (sorted[sorted.length - 1] as number);
}
