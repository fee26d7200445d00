// Runs the real program (index.ts) under Pulumi's mock monitor in a fresh module registry,
// so each run starts from a clean SDK state. See tools/mockEngine.ts for what is recorded.
import { MockOptions, ProgramRun, collect, installMocks } from "../../tools/mockEngine";

export * from "../../tools/mockEngine";

export async function runProgram(opts: MockOptions): Promise<ProgramRun> {
    let started: Promise<ProgramRun> | undefined;
    jest.isolateModules(() => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const pulumi = require("@pulumi/pulumi") as typeof import("@pulumi/pulumi");
        const rec = installMocks(pulumi, opts);
        if (opts.scriptsDir) {
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            (require("../../components/remote/command") as typeof import("../../components/remote/command")).useScriptsDir(opts.scriptsDir);
        }
        try {
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            const program = require("../../index") as Parameters<typeof collect>[1];
            started = collect(pulumi, program, rec);
        } catch (e) {
            started = Promise.reject(e);
        }
    });
    return started!;
}

export const FAKE_PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nZmFrZS10ZXN0LWtleS1ub3QtcmVhbA==\n-----END OPENSSH PRIVATE KEY-----\n";

/** A stack's config as the CLI passes it, with the SSH key given inline as an encrypted value. */
export function stackWithInlineKey(
    base: { config: Record<string, string>; secretKeys: string[] },
    overrides: Record<string, unknown> = {},
): { config: Record<string, string>; secretKeys: string[] } {
    const config: Record<string, string> = { ...base.config, "kubeadm-cluster:sshPrivateKeyPath": "", "kubeadm-cluster:sshPrivateKey": FAKE_PRIVATE_KEY };
    for (const [k, v] of Object.entries(overrides)) config[`kubeadm-cluster:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
    return { config, secretKeys: [...base.secretKeys, "kubeadm-cluster:sshPrivateKey"] };
}
