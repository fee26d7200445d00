import { renderContainerdConfig, renderContainerdHostsToml } from "../../components/render";
import { pauseImage } from "../../components/config/spec";
import { makeSpec } from "../fixtures/spec";
import { tomlSections } from "./helpers";

const sandboxImage = pauseImage(makeSpec());

describe("renderContainerdConfig", () => {
    test("1.x snapshot", () => expect(renderContainerdConfig(1, { sandboxImage })).toMatchSnapshot());
    test("2.x snapshot", () => expect(renderContainerdConfig(2, { sandboxImage })).toMatchSnapshot());

    test.each([1, 2] as const)("%s.x starts with the managed header and parses", (major) => {
        const text = renderContainerdConfig(major, { sandboxImage });
        expect(text.split("\n")[0]).toBe("# managed by kubeadm-cluster");
        expect(() => tomlSections(text)).not.toThrow();
    });

    test("1.x: config version 2, CRI plugin io.containerd.grpc.v1.cri with systemd cgroups", () => {
        const s = tomlSections(renderContainerdConfig(1, { sandboxImage }));
        const cri = 'plugins."io.containerd.grpc.v1.cri"';
        expect(s.get("")!.get("version")).toBe("2");
        expect(s.get(cri)!.get("sandbox_image")).toBe('"registry.k8s.io/pause:3.10"');
        expect(s.get(`${cri}.containerd`)!.get("default_runtime_name")).toBe('"runc"');
        expect(s.get(`${cri}.containerd.runtimes.runc`)!.get("runtime_type")).toBe('"io.containerd.runc.v2"');
        expect(s.get(`${cri}.containerd.runtimes.runc.options`)!.get("SystemdCgroup")).toBe("true");
        expect(s.get(`${cri}.registry`)!.get("config_path")).toBe('"/etc/containerd/certs.d"');
    });

    test("2.x: config version 3, split CRI plugins, no io.containerd.grpc.v1.cri", () => {
        const text = renderContainerdConfig(2, { sandboxImage });
        expect(text).not.toContain("io.containerd.grpc.v1.cri");
        expect(text).not.toContain("sandbox_image");
        const s = tomlSections(text);
        const images = "plugins.'io.containerd.cri.v1.images'";
        const runtime = "plugins.'io.containerd.cri.v1.runtime'";
        expect(s.get("")!.get("version")).toBe("3");
        expect(s.get(`${images}.pinned_images`)!.get("sandbox")).toBe("'registry.k8s.io/pause:3.10'");
        expect(s.get(`${images}.registry`)!.get("config_path")).toBe("'/etc/containerd/certs.d'");
        expect(s.get(`${runtime}.containerd.runtimes.runc`)!.get("runtime_type")).toBe("'io.containerd.runc.v2'");
        expect(s.get(`${runtime}.containerd.runtimes.runc.options`)!.get("SystemdCgroup")).toBe("true");
    });

    test("the sandbox image follows the image repository", () => {
        const image = pauseImage(makeSpec({ imageRepository: "registry.aliyuncs.com/google_containers" }));
        expect(renderContainerdConfig(1, { sandboxImage: image })).toContain('sandbox_image = "registry.aliyuncs.com/google_containers/pause:3.10"');
        expect(renderContainerdConfig(2, { sandboxImage: image })).toContain("sandbox = 'registry.aliyuncs.com/google_containers/pause:3.10'");
    });

    test("values with quotes are escaped, not injected", () => {
        const v1 = renderContainerdConfig(1, { sandboxImage: 'a"b' });
        expect(v1).toContain('sandbox_image = "a\\"b"');
        const v2 = renderContainerdConfig(2, { sandboxImage: "a'b" });
        expect(v2).toContain(`sandbox = "a'b"`);
        expect(() => renderContainerdConfig(1, { sandboxImage: "a\nb" })).toThrow(/control character/);
    });
});

describe("renderContainerdHostsToml", () => {
    test("snapshot with two mirrors", () => {
        expect(renderContainerdHostsToml(["https://mirror.ccs.tencentyun.com/", "docker.m.daocloud.io"])).toMatchSnapshot();
    });

    test("no mirrors: only the upstream server", () => {
        const s = tomlSections(renderContainerdHostsToml([]));
        expect([...s.keys()]).toEqual([""]);
        expect(s.get("")!.get("server")).toBe('"https://registry-1.docker.io"');
    });

    test("mirrors keep their order, get a scheme and lose trailing slashes", () => {
        const s = tomlSections(renderContainerdHostsToml(["https://b.example/", "a.example"]));
        expect([...s.keys()]).toEqual(["", 'host."https://b.example"', 'host."https://a.example"']);
        expect(s.get('host."https://a.example"')!.get("capabilities")).toBe('["pull", "resolve"]');
    });
});
