import { parseClusterConfig, RawConfig } from "../../components/config/validate";
import { loadStackConfig } from "../../tools/stackConfig";

function rawFor(stack: string): RawConfig {
    const { project, config } = loadStackConfig(stack);
    const raw: RawConfig = {};
    for (const [k, v] of Object.entries(config)) raw[k.slice(project.length + 1)] = v;
    return raw;
}

describe("the bundled dev stack (Pulumi.yaml defaults + Pulumi.dev.yaml, as the CLI passes them)", () => {
    test("parses to the seeds' cluster spec", () => {
        const spec = parseClusterConfig(rawFor("dev"));
        expect(spec).toEqual({
            hosts: [
                { name: "master01", address: "192.168.10.11", role: "control-plane", user: "root", port: 22 },
                { name: "worker01", address: "192.168.10.12", role: "worker", user: "root", port: 22 },
                { name: "worker02", address: "192.168.10.13", role: "worker", user: "root", port: 22 },
            ],
            sshKey: { kind: "file", path: "~/.ssh/id_ed25519" },
            kubernetesVersion: { full: "1.35.9", major: 1, minor: 35, patch: 9, minorString: "1.35" },
            podCidr: "10.244.0.0/16",
            serviceCidr: "10.96.0.0/12",
            controlPlaneEndpoint: "192.168.10.11:6443",
            ha: { loadBalancer: "none", endpointPort: 6443, virtualRouterId: 51 },
            containerRuntime: "containerd",
            cni: {
                plugin: "calico",
                version: "v3.31.7",
                source: "https://raw.githubusercontent.com/projectcalico/calico/{version}/manifests",
            },
            kubeProxyMode: "ipvs",
            imageRepository: "registry.k8s.io",
            registryMirrors: [],
            packageRepos: {
                kubernetes: "https://pkgs.k8s.io/core:/stable:/v{minor}/rpm/",
                docker: "https://download.docker.com/linux/centos",
                centos7Vault: "https://vault.centos.org",
            },
            firewall: "open-ports",
            timeSync: true,
            ntpServers: [],
            sysctl: {},
            demo: { enabled: true, replicas: 2, nodePort: 30080, image: "nginx:1.27" },
            joinTokenTtl: "1h",
            upgradeBatchSize: 1,
            certificateRenewal: false,
            etcdBackup: { enabled: false, dir: "/var/backups/etcd", schedule: "*-*-* 02:00:00", retention: 7 },
        });
    });

    test("the defaults declared in Pulumi.yaml are the ones the program applies when a key is absent", () => {
        const fromProjectDefaults = parseClusterConfig(rawFor("dev"));
        const raw = rawFor("dev");
        const minimal: RawConfig = { hosts: raw.hosts, sshPrivateKeyPath: raw.sshPrivateKeyPath };
        expect(parseClusterConfig(minimal)).toEqual(fromProjectDefaults);
    });
});
