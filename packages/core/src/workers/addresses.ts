import { BlockList, isIP } from "node:net";

/**
 * Which worker addresses the gateway may dial. A worker token reports an `advertise_host`, but the
 * gateway sends client prompts and the replica secret there, so the platform vouches for it first:
 *
 * - a worker the platform runs itself has its `dial_host` set by the platform (the local worker:
 *   loopback; EC2 later: the address from DescribeInstances), and the agent's report is ignored;
 * - a private worker registered with `addresses` is dialled only within them;
 * - a private worker registered without them is dialled on an ordinary unicast IP address only:
 *   never loopback, link-local (cloud metadata), unspecified, multicast or broadcast, never a name.
 *
 * Only an organisation-scoped token may register `addresses` touching those special ranges.
 */

/** Ranges that reach the platform's own host or its cloud's services rather than a worker. */
const SPECIAL_RANGES: readonly [string, number, "ipv4" | "ipv6"][] = [
  ["0.0.0.0", 8, "ipv4"],
  ["127.0.0.0", 8, "ipv4"],
  ["169.254.0.0", 16, "ipv4"],
  ["224.0.0.0", 4, "ipv4"],
  ["255.255.255.255", 32, "ipv4"],
  ["::", 128, "ipv6"],
  ["::1", 128, "ipv6"],
  ["fe80::", 10, "ipv6"],
  ["ff00::", 8, "ipv6"],
];

const special = new BlockList();
for (const [network, prefix, family] of SPECIAL_RANGES) special.addSubnet(network, prefix, family);

function family(ip: string): "ipv4" | "ipv6" | undefined {
  const version = isIP(ip);
  return version === 4 ? "ipv4" : version === 6 ? "ipv6" : undefined;
}

/** `[::1]` as advertised for URLs, `::1` as an address. */
function bare(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

interface Range {
  network: string;
  prefix: number;
  family: "ipv4" | "ipv6";
}

/** An IP address or CIDR range (`10.0.0.7`, `10.0.0.0/24`, `fd00::/64`), or undefined when it is neither. */
export function parseAddressRange(text: string): Range | undefined {
  if (text.length > 64) return undefined;
  const slash = text.indexOf("/");
  const network = slash < 0 ? text : text.slice(0, slash);
  const kind = family(network);
  if (kind === undefined) return undefined;
  const max = kind === "ipv4" ? 32 : 128;
  if (slash < 0) return { network, prefix: max, family: kind };
  const prefixText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  return prefix <= max ? { network, prefix, family: kind } : undefined;
}

/** Whether a registered range contains, or lies within, one of the special ranges. */
export function touchesSpecialRange(text: string): boolean {
  const range = parseAddressRange(text);
  if (range === undefined) return false;
  if (special.check(range.network, range.family)) return true;
  const within = new BlockList();
  within.addSubnet(range.network, range.prefix, range.family);
  return SPECIAL_RANGES.some(([network, , kind]) => within.check(network, kind));
}

/**
 * The address the gateway may dial for a worker, or why none: see the module comment. Pure, so the
 * controller decides it at placement and the replica's `host` is only ever a vouched address.
 */
export function vouchedDialHost(worker: {
  id: string;
  dial_host?: string;
  addresses?: string[];
  host?: { advertise_host: string };
}): { host: string } | { refused: string } {
  if (worker.dial_host !== undefined) return { host: worker.dial_host };
  const advertised = worker.host?.advertise_host;
  if (advertised === undefined) return { refused: `worker ${worker.id} has not reported its address yet` };
  const ip = bare(advertised);
  const kind = family(ip);
  if (kind === undefined) {
    return { refused: `worker ${worker.id} advertises ${JSON.stringify(advertised)}, not an IP address; the gateway dials IP addresses only` };
  }
  if (worker.addresses !== undefined) {
    const allowed = new BlockList();
    for (const text of worker.addresses) {
      const range = parseAddressRange(text);
      if (range !== undefined) allowed.addSubnet(range.network, range.prefix, range.family);
    }
    if (allowed.check(ip, kind)) return { host: advertised };
    return { refused: `worker ${worker.id} advertises ${advertised}, outside the addresses given at its registration (${worker.addresses.join(", ")})` };
  }
  if (special.check(ip, kind)) {
    return {
      refused:
        `worker ${worker.id} advertises ${advertised}, a loopback, link-local or otherwise special address the gateway does not dial ` +
        "unless it was given in the worker's `addresses` at registration (by an organisation token)",
    };
  }
  return { host: advertised };
}
