// Where the Symphony client may connect. The pod, agent and key-manager URLs are typed by an admin, so
// without this an admin (or anyone holding an admin's session) could make the server call internal
// services: cloud metadata at 169.254.169.254, databases on loopback, hosts on the private network.
import { lookup, type LookupAddress, type LookupOptions } from "node:dns";
import { BlockList, isIP } from "node:net";
import { Agent, buildConnector } from "undici";

const notPublic = new BlockList();
for (const [network, prefix] of [
  ["0.0.0.0", 8], // "this network", unspecified
  ["10.0.0.0", 8],
  ["100.64.0.0", 10], // carrier-grade NAT
  ["127.0.0.0", 8],
  ["169.254.0.0", 16], // link-local, cloud metadata
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, broadcast
] as const) {
  notPublic.addSubnet(network, prefix, "ipv4");
}
for (const [network, prefix] of [
  ["::", 128], // unspecified
  ["::1", 128],
  ["64:ff9b:1::", 48], // local-use NAT64 (RFC 8215): never on the internet
  ["fc00::", 7], // unique local
  ["fe80::", 10], // link-local
  ["ff00::", 8], // multicast
] as const) {
  notPublic.addSubnet(network, prefix, "ipv6");
}

// Refused even when SYMPHONY_ALLOW_PRIVATE_HOSTS lets loopback and private networks through: no
// Symphony service lives there, and the cloud metadata services there hand out the server's credentials.
const neverAllowed = new BlockList();
neverAllowed.addSubnet("169.254.0.0", 16, "ipv4"); // link-local, metadata of AWS, Azure, Google Cloud
neverAllowed.addAddress("100.100.100.200", "ipv4"); // Alibaba Cloud metadata
neverAllowed.addSubnet("fe80::", 10, "ipv6"); // link-local
neverAllowed.addAddress("fd00:ec2::254", "ipv6"); // AWS metadata over IPv6

/** The 16 bytes of an IPv6 address (one `isIP` calls 6, without a zone). */
function ipv6Bytes(address: string): number[] {
  let text = address.toLowerCase();
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const groups = (part: string | undefined) => (part ? part.split(":").map((group) => parseInt(group, 16)) : []);
  const [head, tail] = text.split("::");
  const before = groups(head);
  const after = groups(tail);
  const all = [...before, ...Array<number>(8 - before.length - after.length).fill(0), ...after];
  return all.flatMap((group) => [group >> 8, group & 0xff]);
}

/**
 * The IPv4 addresses an IPv6 address leads to: IPv4-mapped and IPv4-compatible (::/96), NAT64
 * (64:ff9b::/96, and 64:ff9b:1::/48 in each layout of RFC 6052, as its operator picks one) and 6to4.
 */
function embeddedIpv4(address: string): string[] {
  const bytes = ipv6Bytes(address);
  const at = (...indexes: number[]) => indexes.map((index) => bytes[index]).join(".");
  const zero = (from: number, to: number) => bytes.slice(from, to).every((byte) => byte === 0);
  if (zero(0, 10) && ((bytes[10] === 0 && bytes[11] === 0) || (bytes[10] === 0xff && bytes[11] === 0xff))) {
    return [at(12, 13, 14, 15)];
  }
  const nat64 = bytes[0] === 0 && bytes[1] === 0x64 && bytes[2] === 0xff && bytes[3] === 0x9b;
  if (nat64 && zero(4, 12)) return [at(12, 13, 14, 15)];
  if (nat64 && bytes[4] === 0 && bytes[5] === 1) {
    return [at(6, 7, 9, 10), at(7, 9, 10, 11), at(9, 10, 11, 12), at(12, 13, 14, 15)];
  }
  if (bytes[0] === 0x20 && bytes[1] === 0x02) return [at(2, 3, 4, 5)];
  return [];
}

/** An address both as given and as the IPv4 addresses it carries; undefined when it is not an IP address. */
function forms(address: string): { ipv4: string[]; ipv6: string[] } | undefined {
  const plain = address.replace(/%.*$/, ""); // a zone (fe80::1%eth0) would make BlockList match nothing
  const family = isIP(plain);
  if (family === 4) return { ipv4: [plain], ipv6: [] };
  if (family === 6) return { ipv4: embeddedIpv4(plain), ipv6: [plain] };
  return undefined;
}

function listed(list: BlockList, address: string): boolean {
  const { ipv4, ipv6 } = forms(address) ?? { ipv4: [], ipv6: [] };
  return ipv4.some((v4) => list.check(v4, "ipv4")) || ipv6.some((v6) => list.check(v6, "ipv6"));
}

/** True for an address on the public internet; false for loopback, link-local, private, unspecified and the like. */
export function isPublicAddress(address: string): boolean {
  return forms(address) !== undefined && !listed(notPublic, address);
}

/**
 * Whether the server may connect to the address: a public one; with private hosts allowed, also
 * loopback and private networks, but never link-local or cloud metadata addresses.
 */
export function isAllowedAddress(address: string, allowPrivateHosts: boolean): boolean {
  if (!allowPrivateHosts) return isPublicAddress(address);
  return forms(address) !== undefined && !listed(neverAllowed, address);
}

export class PrivateAddressError extends Error {
  override name = "PrivateAddressError";
  readonly code = "EPRIVATEADDRESS";
}

/** An http:// URL whose host is on the public internet: the credentials sent to it would travel unencrypted. */
export class CleartextHostError extends Error {
  override name = "CleartextHostError";
  readonly code = "ECLEARTEXTHOST";
}

/** How a URL's scheme must read, for admins (wizard, settings and runtime messages alike). */
export const HTTPS_REQUIRED =
  "must start with https:// (http:// only for a test pod on this machine or a private network with SYMPHONY_ALLOW_PRIVATE_HOSTS)";

function privateAddress(host: string, allowPrivateHosts: boolean): PrivateAddressError {
  return new PrivateAddressError(
    allowPrivateHosts
      ? `${host} is a link-local or cloud metadata address, which this server never calls (not even with SYMPHONY_ALLOW_PRIVATE_HOSTS=true)`
      : `${host} is a loopback, link-local or private address; set SYMPHONY_ALLOW_PRIVATE_HOSTS=true for an agent or key manager on your own network`,
  );
}

function cleartextHost(host: string): CleartextHostError {
  return new CleartextHostError(
    `${host} is on the public internet, where http:// would carry credentials unencrypted; the URL ${HTTPS_REQUIRED}`,
  );
}

/**
 * Why the server may not call a host at these addresses, or undefined. Over http:// (`cleartext`) every
 * address must also be a loopback or private one, so that nothing leaves the machine or network unencrypted.
 */
export function addressRefusal(
  host: string,
  addresses: string[],
  allowPrivateHosts: boolean,
  cleartext: boolean,
): Error | undefined {
  if (addresses.some((address) => !isAllowedAddress(address, allowPrivateHosts))) {
    return privateAddress(host, allowPrivateHosts);
  }
  if (cleartext && addresses.some(isPublicAddress)) return cleartextHost(host);
  return undefined;
}

/**
 * Whether a typed URL's scheme may be accepted: https://, or http:// while private hosts are allowed
 * and the host is not a public IP address. A host name is only known to be private once it is
 * resolved: the connection pool below checks that.
 */
export function schemeAllowed(url: URL, allowPrivateHosts: boolean): boolean {
  if (url.protocol === "https:") return true;
  if (url.protocol !== "http:" || !allowPrivateHosts) return false;
  const host = url.hostname.replace(/^\[|\]$/g, "");
  return isIP(host) === 0 || !isPublicAddress(host);
}

/** Refuses a URL whose host is an IP literal the rules above refuse (those never reach the DNS lookup below). */
export function checkHost(url: URL, allowPrivateHosts: boolean): void {
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (isIP(host) === 0) return;
  const refused = addressRefusal(host, [host], allowPrivateHosts, url.protocol === "http:");
  if (refused) throw refused;
}

function lookupAll(host: string, options: LookupOptions = {}): Promise<LookupAddress[]> {
  return new Promise((resolve, reject) =>
    lookup(host, { ...options, all: true }, (error, found) => (error ? reject(error) : resolve(found))),
  );
}

/**
 * The addresses to connect to for a host name that is not behind an HTTP dispatcher (an SFTP server):
 * every address it resolves to must be allowed. Connect to one of the returned addresses, not to the
 * name, so a DNS answer that changes afterwards cannot slip through.
 */
export async function resolveAllowedAddresses(hostname: string, allowPrivateHosts: boolean): Promise<LookupAddress[]> {
  const host = hostname.replace(/^\[|\]$/g, "");
  const family = isIP(host);
  const addresses = family !== 0 ? [{ address: host, family }] : await lookupAll(host);
  const refused = addressRefusal(
    host,
    addresses.map((entry) => entry.address),
    allowPrivateHosts,
    false,
  );
  if (refused) throw refused;
  return addresses;
}

/**
 * The connection pool for Symphony calls. Every address a host name resolves to is checked at connect
 * time (so a DNS answer that changes between a check and the connection cannot slip through), and an
 * http:// connection is only made to loopback or private addresses.
 */
export function symphonyDispatcher(allowPrivateHosts: boolean): Agent {
  const connectorFor = (cleartext: boolean) =>
    buildConnector({
      lookup(hostname, options, callback) {
        lookupAll(hostname, options).then(
          (addresses) => {
            const refused = addressRefusal(
              hostname,
              addresses.map((entry) => entry.address),
              allowPrivateHosts,
              cleartext,
            );
            if (refused) callback(refused, []);
            else callback(null, addresses);
          },
          (error: NodeJS.ErrnoException) => callback(error, []),
        );
      },
    });
  const encrypted = connectorFor(false);
  const cleartext = connectorFor(true);
  return new Agent({
    connect: (options, callback) => (options.protocol === "http:" ? cleartext : encrypted)(options, callback),
  });
}
