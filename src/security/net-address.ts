/**
 * Which network an IP address belongs to, for deciding whether the host may
 * connect there on a plugin's behalf. Everything that is not plainly a
 * public unicast address is reported as something else: the host's own
 * machine, its private networks, link-local (cloud metadata lives at
 * 169.254.169.254), carrier-grade NAT, multicast and broadcast, and the
 * reserved and documentation blocks. IPv6 forms that carry an IPv4 address
 * (IPv4-mapped, NAT64 64:ff9b::/96, 6to4 2002::/16) are judged by the IPv4
 * address inside, so ::ffff:127.0.0.1 is loopback.
 *
 * Input is an address as DNS answers or a URL parser writes it: IPv4 in
 * four decimal parts, IPv6 in any valid textual form, optionally with a
 * zone (%eth0). Anything else (127.1, 0x7f000001, a name) is `invalid`;
 * callers canonicalise first (the WHATWG URL parser does for http URLs).
 */
import { isIPv4, isIPv6 } from 'node:net';

export type AddressClass =
  | 'public'
  /** 127.0.0.0/8, ::1. */
  | 'loopback'
  /** 10/8, 172.16/12, 192.168/16, fc00::/7, the deprecated site-local fec0::/10, local-use NAT64 64:ff9b:1::/48. */
  | 'private'
  /** 169.254/16 (cloud metadata services), fe80::/10. */
  | 'link-local'
  /** 0.0.0.0/8 ("this network"; 0.0.0.0 reaches the local machine), ::. */
  | 'unspecified'
  /** 100.64/10, carrier-grade NAT (RFC 6598). */
  | 'shared'
  /** 224/4, ff00::/8. */
  | 'multicast'
  /** 255.255.255.255. */
  | 'broadcast'
  /** IETF, documentation, benchmarking and future-use blocks; IPv6 outside 2000::/3; Teredo. */
  | 'reserved'
  /** Not an IP address in a form this module accepts. */
  | 'invalid';

/** Whether connecting to `address` stays off the host's own machine and networks. */
export function isPublicAddress(address: string): boolean {
  return classifyAddress(address) === 'public';
}

export function classifyAddress(address: string): AddressClass {
  const zone = address.indexOf('%');
  const bare = zone === -1 ? address : address.slice(0, zone);
  if (isIPv4(bare) && zone === -1) return classifyIPv4(parseIPv4(bare));
  if (isIPv6(bare)) return classifyIPv6(parseIPv6(bare));
  return 'invalid';
}

/** The IP address a URL's hostname is, brackets removed, or undefined for a name. */
export function ipLiteral(hostname: string): string | undefined {
  const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  return isIPv4(bare) || isIPv6(bare) ? bare : undefined;
}

/** Compares addresses whatever their textual form (::1 and 0:0::1 are the same). */
export function sameAddress(a: string, b: string): boolean {
  const key = (s: string) => (isIPv4(s) ? `4:${s}` : isIPv6(s) ? `6:${parseIPv6(s).join(':')}` : s);
  return key(a) === key(b);
}

type Octets = readonly [number, number, number, number];

function parseIPv4(text: string): Octets {
  const [a = 0, b = 0, c = 0, d = 0] = text.split('.').map(Number);
  return [a, b, c, d];
}

/** Eight 16-bit groups; `text` has passed isIPv6 and has no zone. */
function parseIPv6(text: string): number[] {
  const groupsOf = (part: string): number[] => {
    if (part === '') return [];
    return part.split(':').flatMap((piece) => {
      if (!piece.includes('.')) return [parseInt(piece, 16)];
      const [a, b, c, d] = parseIPv4(piece);
      return [(a << 8) | b, (c << 8) | d];
    });
  };
  const gap = text.indexOf('::');
  if (gap === -1) return groupsOf(text);
  const head = groupsOf(text.slice(0, gap));
  const tail = groupsOf(text.slice(gap + 2));
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

function classifyIPv4([a, b, c, d]: Octets): AddressClass {
  if (a === 0) return 'unspecified';
  if (a === 10) return 'private';
  if (a === 100 && (b & 0xc0) === 64) return 'shared';
  if (a === 127) return 'loopback';
  if (a === 169 && b === 254) return 'link-local';
  if (a === 172 && (b & 0xf0) === 16) return 'private';
  if (a === 192 && b === 168) return 'private';
  // IETF protocol assignments, TEST-NET-1, the old 6to4 relay anycast block.
  if (a === 192 && ((b === 0 && (c === 0 || c === 2)) || (b === 88 && c === 99))) return 'reserved';
  // Benchmarking (often used inside data centres), TEST-NET-2, TEST-NET-3.
  if (a === 198 && ((b & 0xfe) === 18 || (b === 51 && c === 100))) return 'reserved';
  if (a === 203 && b === 0 && c === 113) return 'reserved';
  if (a >= 224 && a < 240) return 'multicast';
  if (a === 255 && b === 255 && c === 255 && d === 255) return 'broadcast';
  if (a >= 240) return 'reserved';
  return 'public';
}

function embeddedIPv4(high: number, low: number): AddressClass {
  return classifyIPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
}

function classifyIPv6(g: number[]): AddressClass {
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = g;
  const zeroUpTo5 = g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0;
  if (zeroUpTo5 && g5 === 0 && g6 === 0) {
    if (g7 === 0) return 'unspecified';
    if (g7 === 1) return 'loopback';
  }
  // IPv4-mapped ::ffff:a.b.c.d: sockets deliver these to the IPv4 address.
  if (zeroUpTo5 && g5 === 0xffff) return embeddedIPv4(g6, g7);
  if (g0 === 0x64 && g1 === 0xff9b) {
    // Well-known NAT64 prefix: the translator forwards to the IPv4 address inside.
    if (g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) return embeddedIPv4(g6, g7);
    if (g2 === 1) return 'private';
  }
  // 6to4: the relay tunnels to the IPv4 address in bits 16-47.
  if (g0 === 0x2002) return embeddedIPv4(g1, g2);
  if ((g0 & 0xff00) === 0xff00) return 'multicast';
  if ((g0 & 0xffc0) === 0xfe80) return 'link-local';
  if ((g0 & 0xffc0) === 0xfec0 || (g0 & 0xfe00) === 0xfc00) return 'private';
  // Only 2000::/3 is allocated for global unicast; the rest (IPv4-compatible
  // ::a.b.c.d, discard-only 100::/64, ...) is not somewhere to connect to.
  if ((g0 & 0xe000) !== 0x2000) return 'reserved';
  // IETF protocol assignments 2001::/23 (Teredo, ORCHID, ...), documentation 2001:db8::/32 and 3fff::/20.
  if (g0 === 0x2001 && (g1 < 0x200 || g1 === 0xdb8)) return 'reserved';
  if (g0 === 0x3fff && g1 < 0x1000) return 'reserved';
  return 'public';
}
