// IPv4 address and CIDR arithmetic for validation.

export function isIpv4(s: string): boolean {
    const parts = s.split(".");
    return parts.length === 4 && parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255);
}

export function ipToInt(s: string): number {
    return s.split(".").reduce((acc, p) => acc * 256 + Number(p), 0);
}

function intToIp(n: number): string {
    return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}

export interface Cidr {
    base: number;
    prefix: number;
    size: number;
    /** The CIDR with host bits cleared, e.g. 10.244.0.0/16. */
    canonical: string;
}

export function parseCidr(s: string): Cidr | undefined {
    const m = /^([0-9.]+)\/([0-9]{1,2})$/.exec(s);
    if (!m || !isIpv4(m[1])) return undefined;
    const prefix = Number(m[2]);
    if (prefix > 32) return undefined;
    const size = 2 ** (32 - prefix);
    const base = Math.floor(ipToInt(m[1]) / size) * size;
    return { base, prefix, size, canonical: `${intToIp(base)}/${prefix}` };
}

export function cidrContains(cidr: string, ip: string): boolean {
    const c = parseCidr(cidr);
    if (!c || !isIpv4(ip)) return false;
    const n = ipToInt(ip);
    return n >= c.base && n < c.base + c.size;
}

export function cidrsOverlap(a: string, b: string): boolean {
    const x = parseCidr(a);
    const y = parseCidr(b);
    if (!x || !y) return false;
    return x.base < y.base + y.size && y.base < x.base + x.size;
}
