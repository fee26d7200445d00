// Failover figures for the keepalived-haproxy endpoint (test/hosts/ha-lab.ts): three control-plane
// test hosts running the real keepalived and haproxy with the configuration the program renders,
// a client host requesting GET /readyz over TLS through the virtual IP. For each repetition:
//   (a) the holder's keepalived stopped (SIGTERM, as systemctl stop does);
//   (b) the holder's haproxy stopped (and its unit inactive), so chk_haproxy demotes the holder;
// the time from the stop until the VIP sits on another control plane and answers; then the stopped
// program is started again and the VIP returns to the first control plane before the next one.
// Prints figures only; never passes or fails on time. Run as root: bash bench/ha-failover.sh [REPS]
import { performance } from "perf_hooks";
import { HaLab } from "../test/hosts/ha-lab";
import { TestHost } from "../test/hosts/harness";

const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function main(): Promise<void> {
    const reps = Number(process.argv[2] ?? process.env.REPS ?? 3);
    if (!Number.isInteger(reps) || reps < 1 || reps > 20) throw new Error(`repetitions must be 1-20 (got ${process.argv[2] ?? process.env.REPS})`);
    const lab = await HaLab.create({ controlPlaneIps: ["10.250.0.131", "10.250.0.132", "10.250.0.133"], clientIp: "10.250.0.134", vip: "10.250.0.101" });
    try {
        for (const h of lab.cps) lab.startApiServer(h);
        for (const h of lab.cps) lab.startHaproxy(h);
        for (const h of lab.cps) lab.startKeepalived(h);
        const first = lab.cps[0];
        const isFirst = (n: string) => n === first.name;
        await lab.waitHolder(isFirst, 20_000);
        console.log("keepalived-haproxy failover on test hosts (real keepalived, haproxy, VRRP unicast, TCP, TLS; API servers stood in for)");
        console.log(`VIP ${lab.vip}:${lab.port}; measured from the stop until GET /readyz through the VIP answers from another control plane`);
        // (a) is timed from keepalived's SIGTERM; it takes about a second more to exit, waited for
        // before the restart.
        const cases: { label: string; stop: (h: TestHost) => void; start: (h: TestHost) => void }[] = [
            {
                label: "(a) holder's keepalived stopped",
                stop: (h) => lab.stopKeepalived(h, false),
                start: (h) => {
                    lab.stopKeepalived(h);
                    lab.startKeepalived(h);
                },
            },
            { label: "(b) holder's haproxy stopped   ", stop: (h) => lab.stopHaproxy(h), start: (h) => lab.startHaproxy(h) },
        ];
        for (const k of cases) {
            const times: number[] = [];
            const moved: number[] = [];
            const back: number[] = [];
            for (let i = 0; i < reps; i++) {
                const f = await lab.failover(k.stop, 30_000);
                times.push(f.ms);
                moved.push(f.movedMs);
                const t0 = performance.now();
                k.start(first);
                await lab.waitHolder(isFirst, 30_000);
                back.push(performance.now() - t0);
            }
            console.log(`${k.label}: mean ${fmt(mean(times))} over ${reps} (${times.map(fmt).join(", ")})`);
            console.log(`    of which until the VIP was on another host (ip addr): mean ${fmt(mean(moved))}; VIP back on ${first.name} after the restart: mean ${fmt(mean(back))}`);
        }
    } finally {
        await lab.destroy();
    }
}

main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
});
