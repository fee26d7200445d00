import { renderDockerDaemonJson } from "../../components/render";
import { makeSpec } from "../fixtures/spec";

describe("renderDockerDaemonJson", () => {
    test("snapshot without mirrors", () => expect(renderDockerDaemonJson(makeSpec())).toMatchSnapshot());
    test("snapshot with mirrors", () => {
        expect(renderDockerDaemonJson(makeSpec({ registryMirrors: ["https://mirror.ccs.tencentyun.com"] }))).toMatchSnapshot();
    });

    test("valid JSON with a trailing newline and keys in a stable order", () => {
        const text = renderDockerDaemonJson(makeSpec({ registryMirrors: ["https://m1.example", "https://m2.example"] }));
        expect(text.endsWith("}\n")).toBe(true);
        const json = JSON.parse(text);
        expect(Object.keys(json)).toEqual(["exec-opts", "log-driver", "log-opts", "registry-mirrors", "storage-driver"]);
        expect(json["exec-opts"]).toEqual(["native.cgroupdriver=systemd"]);
        expect(json["log-opts"]).toEqual({ "max-size": "100m" });
        expect(json["storage-driver"]).toBe("overlay2");
        expect(json["registry-mirrors"]).toEqual(["https://m1.example", "https://m2.example"]);
    });

    test("no registry-mirrors key when there are none", () => {
        expect(JSON.parse(renderDockerDaemonJson(makeSpec()))).not.toHaveProperty("registry-mirrors");
    });
});
