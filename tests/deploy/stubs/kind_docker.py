"""docker and kind fakes: `docker build` needs a Dockerfile and records the image, `docker push`
needs a built image; `kind load docker-image` needs a built image and a recorded kind cluster of
that name, and puts the image on its nodes (what the fake wd-wait checks)."""

import os
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import stubstate  # noqa: E402


def die(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)


def main(tool, argv):
    stubstate.record(tool, argv)
    with stubstate.state() as s:
        if tool == "docker" and argv[:2] == ["build", "-t"] and len(argv) == 4:
            if not os.path.isfile(os.path.join(argv[3], "Dockerfile")):
                die(f"ERROR: failed to solve: failed to read dockerfile: open {argv[3]}/Dockerfile: no such file or directory")
            s["images"].append(argv[2])
            return 0
        if tool == "docker" and argv[:1] == ["push"] and len(argv) == 2:
            if argv[1] not in s["images"]:
                die(f"An image does not exist locally with the tag: {argv[1]}")
            s.setdefault("pushed", []).append(argv[1])
            return 0
        if tool == "kind" and argv[:2] == ["load", "docker-image"] and len(argv) == 5 and argv[3] == "--name":
            if argv[2] not in s["images"]:
                die(f"ERROR: image: \"{argv[2]}\" not present locally")
            clusters = [c for c in s["clusters"].values() if c["name"] == argv[4] and c.get("type") == "kind"]
            if not clusters:
                die(f"ERROR: no nodes found for cluster \"{argv[4]}\"")
            clusters[0]["images"].append(argv[2])
            return 0
        die(f"{tool}: this fake does not know: {' '.join(argv)}")


if __name__ == "__main__":
    sys.exit(main(pathlib.Path(sys.argv[1]).name, sys.argv[2:]))
