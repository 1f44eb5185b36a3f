import { lookup as dnsLookup } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { metadataHosts } from './metadata-value.js';

/** A connection the proxy refused to make: it would have reached the metadata server. */
export class MetadataRefusal extends Error {}

/** One place the metadata server listens: an address, at one port or (undefined) any. */
interface Endpoint {
  address: string;
  port: number | undefined;
}

/**
 * What keeps runsd's proxy from being a second way to the metadata server's
 * tokens. A name is only a first check: `metadata.`, `[::ffff:127.0.0.1]` or
 * `localhost` at the emulator's port spell the same server differently. So
 * the decision is made on the address the connection goes to: IP literals as
 * written (the URL parser has already read octal, hex and short IPv4 forms),
 * names as the lookup that connects resolves them, every address in an
 * IPv4-mapped IPv6 form read as its IPv4 one.
 */
export class MetadataGuard {
  readonly #names: ReadonlySet<string>;
  readonly #endpoints: Endpoint[] = [
    // GCE's metadata server, on every port; and its IPv6 address on IPv6-only instances.
    { address: '169.254.169.254', port: undefined },
    { address: 'fd20:ce::254', port: undefined },
  ];
  /** The names GCE_METADATA_HOST and GCE_METADATA_IP give, resolved once, on the first request. */
  readonly #configuredNames: { name: string; port: number }[] = [];
  #resolved: Promise<void> | undefined;

  constructor(env: NodeJS.ProcessEnv = process.env) {
    const names = new Set<string>();
    for (const name of metadataHosts(env)) {
      const { hostname, port } = hostAndPort(name);
      if (isIP(hostname) !== 0) this.#endpoints.push({ address: canonical(hostname), port });
      else {
        names.add(hostname);
        if (!['metadata', 'metadata.google.internal'].includes(hostname))
          this.#configuredNames.push({ name: hostname, port: port ?? 80 });
      }
    }
    this.#names = names;
  }

  /** Whether `hostname`, as written, is the metadata server: one of its names, or its address at `port`. */
  refusesHost(hostname: string, port: number): boolean {
    const host = canonical(hostname);
    return this.#names.has(host) || (isIP(host) !== 0 && this.refusesAddress(host, port));
  }

  refusesAddress(address: string, port: number): boolean {
    const target = canonical(address);
    return this.#endpoints.some(
      (endpoint) =>
        (endpoint.port === undefined || endpoint.port === port) &&
        (endpoint.address === target || (isLoopback(endpoint.address) && isLoopback(target))),
    );
  }

  /** Adds the addresses of the configured names, so that a second name for the same server is refused too. */
  ready(): Promise<void> {
    this.#resolved ??= Promise.all(
      this.#configuredNames.map(
        ({ name, port }) =>
          new Promise<void>((resolve) => {
            dnsLookup(name, { all: true }, (error, addresses) => {
              if (error === null)
                for (const { address } of addresses) this.#endpoints.push({ address: canonical(address), port });
              resolve();
            });
          }),
      ),
    ).then(() => undefined);
    return this.#resolved;
  }

  /**
   * The lookup for a connection to `port`: the system's, failing with a MetadataRefusal when any
   * address it gives is the metadata server's. The socket connects to what this returns, so what
   * was checked is what is reached, even when the name's answer changes between lookups.
   */
  lookupFor(port: number): LookupFunction {
    return (hostname, options, callback) => {
      dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
        if (error !== null) return callback(error, '', 0);
        const refused = addresses.find(({ address }) => this.refusesAddress(address, port));
        if (refused !== undefined)
          return callback(new MetadataRefusal(`${hostname} is the metadata server (${refused.address})`), '', 0);
        if (options.all) return callback(null, addresses);
        const [first] = addresses;
        return callback(null, first?.address ?? '', first?.family ?? 0);
      });
    };
  }
}

/** `host[:port]` as GCE_METADATA_HOST holds it; no port means any (the well-known names) or 80. */
function hostAndPort(value: string): { hostname: string; port: number | undefined } {
  try {
    const url = new URL(`http://${value}`);
    return { hostname: canonical(url.hostname), port: url.port === '' ? undefined : Number(url.port) };
  } catch {
    return { hostname: canonical(value), port: undefined };
  }
}

/** Lower case, no brackets around an IPv6 literal, no trailing dots, and an IPv4-mapped IPv6 address as IPv4. */
function canonical(host: string): string {
  const bare = host
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.+$/, '');
  if (isIP(bare) !== 6) return bare;
  const groups = ipv6Groups(bare.replace(/%.*$/, ''));
  const mapped = groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff;
  if (!mapped) return bare;
  const [high = 0, low = 0] = groups.slice(6);
  return [high >> 8, high & 255, low >> 8, low & 255].join('.');
}

/** The eight 16-bit groups of a valid IPv6 address, its `::` expanded and a dotted IPv4 tail read as two. */
function ipv6Groups(address: string): number[] {
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(address);
  const text =
    dotted === null
      ? address
      : `${address.slice(0, dotted.index)}${[
          (Number(dotted[1]) << 8) | Number(dotted[2]),
          (Number(dotted[3]) << 8) | Number(dotted[4]),
        ]
          .map((group) => group.toString(16))
          .join(':')}`;
  const [head = '', tail] = text.split('::');
  const before = head === '' ? [] : head.split(':');
  const after = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = tail === undefined ? [] : Array<string>(8 - before.length - after.length).fill('0');
  return [...before, ...zeros, ...after].map((group) => Number.parseInt(group, 16));
}

/** 127.0.0.0/8, ::1, and the unspecified addresses, which a connection on Linux takes to this machine too. */
function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1' || address === '0.0.0.0' || address === '::';
}
