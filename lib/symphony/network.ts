// Where the Symphony client may connect. The pod, agent and key-manager URLs are typed by an admin, so
// without this an admin (or anyone holding an admin's session) could make the server call internal
// services: cloud metadata at 169.254.169.254, databases on loopback, hosts on the private network.
import { lookup, type LookupAddress } from "node:dns";
import { BlockList, isIP } from "node:net";
import { Agent } from "undici";

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
  ["fc00::", 7], // unique local
  ["fe80::", 10], // link-local
  ["ff00::", 8], // multicast
] as const) {
  notPublic.addSubnet(network, prefix, "ipv6");
}

/** True for an address on the public internet; false for loopback, link-local, private, unspecified and the like. */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
    if (mapped) return isPublicAddress(mapped);
    return !notPublic.check(address, "ipv6");
  }
  return !notPublic.check(address, "ipv4");
}

export class PrivateAddressError extends Error {
  override name = "PrivateAddressError";
  readonly code = "EPRIVATEADDRESS";
}

function privateAddress(host: string): PrivateAddressError {
  return new PrivateAddressError(
    `${host} is a loopback, link-local or private address; set SYMPHONY_ALLOW_PRIVATE_HOSTS=true for an agent or key manager on your own network`,
  );
}

/** Refuses a URL whose host is a private IP literal (those never reach the DNS lookup below). */
export function checkHost(url: URL, allowPrivateHosts: boolean): void {
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (!allowPrivateHosts && isIP(host) !== 0 && !isPublicAddress(host)) throw privateAddress(host);
}

/**
 * The addresses to connect to for a host name that is not behind an HTTP dispatcher (an SFTP server):
 * every address it resolves to must be public unless private hosts are allowed. Connect to one of the
 * returned addresses, not to the name, so a DNS answer that changes afterwards cannot slip through.
 */
export async function resolveAllowedAddresses(hostname: string, allowPrivateHosts: boolean): Promise<LookupAddress[]> {
  const host = hostname.replace(/^\[|\]$/g, "");
  const family = isIP(host);
  const addresses =
    family !== 0
      ? [{ address: host, family }]
      : await new Promise<LookupAddress[]>((resolve, reject) =>
          lookup(host, { all: true }, (error, found) => (error ? reject(error) : resolve(found))),
        );
  if (!allowPrivateHosts && addresses.some((entry) => !isPublicAddress(entry.address))) throw privateAddress(host);
  return addresses;
}

/**
 * The connection pool for Symphony calls. Unless private hosts are allowed, every address a host name
 * resolves to is checked at connect time (so a DNS answer that changes between a check and the
 * connection cannot slip through).
 */
export function symphonyDispatcher(allowPrivateHosts: boolean): Agent {
  if (allowPrivateHosts) return new Agent();
  return new Agent({
    connect: {
      lookup(hostname, options, callback) {
        lookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
          if (error) return callback(error, []);
          if (addresses.some((entry) => !isPublicAddress(entry.address))) {
            return callback(privateAddress(hostname), []);
          }
          callback(null, addresses);
        });
      },
    },
  });
}
