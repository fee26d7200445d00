import {
    criDockerdRpmUrl,
    criDockerdTgzUrl,
    DEFAULT_CRI_DOCKERD_VERSION,
    kubernetesRepoUrl,
    renderKubernetesRepo,
} from "../../components/render";
import { makeSpec, version } from "../fixtures/spec";

const aliyun = (template: string) =>
    makeSpec({ packageRepos: { ...makeSpec().packageRepos, kubernetes: template } });
const ALIYUN = "https://mirrors.aliyun.com/kubernetes-new/core/stable/v{minor}/rpm/";

describe("kubernetes repo", () => {
    test("default snapshot", () => expect(renderKubernetesRepo(makeSpec())).toMatchSnapshot());
    test("Aliyun mirror snapshot", () => expect(renderKubernetesRepo(aliyun(ALIYUN))).toMatchSnapshot());

    test("the minor goes into the URL", () => {
        expect(kubernetesRepoUrl(makeSpec())).toBe("https://pkgs.k8s.io/core:/stable:/v1.33/rpm/");
        expect(kubernetesRepoUrl(makeSpec({ kubernetesVersion: version("1.30.14") }))).toBe("https://pkgs.k8s.io/core:/stable:/v1.30/rpm/");
    });

    test.each([
        "https://mirrors.aliyun.com/kubernetes-new/core/stable/v{minor}/rpm",
        "https://mirrors.aliyun.com/kubernetes-new/core/stable/v{minor}/rpm/",
        "https://mirrors.aliyun.com/kubernetes-new/core/stable/v{minor}/rpm//",
    ])("exactly one slash before repodata (%s)", (template) => {
        const text = renderKubernetesRepo(aliyun(template));
        expect(text).toContain("baseurl=https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.33/rpm/\n");
        expect(text).toContain("gpgkey=https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.33/rpm/repodata/repomd.xml.key\n");
    });

    test("header, section and the fields yum needs", () => {
        const lines = renderKubernetesRepo(makeSpec()).trimEnd().split("\n");
        expect(lines[0]).toBe("# managed by kubeadm-cluster");
        expect(lines[1]).toBe("[kubernetes]");
        expect(lines).toEqual(
            expect.arrayContaining(["enabled=1", "gpgcheck=1", "exclude=kubelet kubeadm kubectl cri-tools kubernetes-cni"]),
        );
    });
});

describe("cri-dockerd URLs", () => {
    test("RPM per EL release", () => {
        expect(criDockerdRpmUrl("0.3.14", "el7")).toBe(
            "https://github.com/Mirantis/cri-dockerd/releases/download/v0.3.14/cri-dockerd-0.3.14-3.el7.x86_64.rpm",
        );
        expect(criDockerdRpmUrl("v0.3.14", "el8")).toBe(
            "https://github.com/Mirantis/cri-dockerd/releases/download/v0.3.14/cri-dockerd-0.3.14-3.el8.x86_64.rpm",
        );
    });

    test("without an EL release the placeholder is left for the host", () => {
        expect(criDockerdRpmUrl(DEFAULT_CRI_DOCKERD_VERSION)).toBe(
            `https://github.com/Mirantis/cri-dockerd/releases/download/v${DEFAULT_CRI_DOCKERD_VERSION}/cri-dockerd-${DEFAULT_CRI_DOCKERD_VERSION}-3.{el}.x86_64.rpm`,
        );
    });

    test("a custom template (internal mirror)", () => {
        expect(criDockerdRpmUrl("0.3.14", "el8", "http://files.lan/cri-dockerd/{version}/{el}.rpm")).toBe(
            "http://files.lan/cri-dockerd/0.3.14/el8.rpm",
        );
    });

    test("static tarball", () => {
        expect(criDockerdTgzUrl("0.3.14")).toBe(
            "https://github.com/Mirantis/cri-dockerd/releases/download/v0.3.14/cri-dockerd-0.3.14.amd64.tgz",
        );
    });
});
