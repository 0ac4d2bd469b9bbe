"""Install the sagestack LocalStack plugin into the running interpreter's site-packages.

`python install.py` (stdlib only) writes a `.pth` that puts this directory on sys.path and a
`.dist-info` holding the entry points from pyproject.toml, which is all plux needs to find
the `local` executor and our hooks. We do not use `pip install -e`: plux hooks into
setuptools' editable build and crashes there (plux/build/setuptools.py, egg-info dir None).
The same script installs the plugin in the Docker image, so host and container match.
"""

from __future__ import annotations

import sys
import sysconfig
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent


def entry_points_txt(pyproject: dict) -> str:
    lines: list[str] = []
    for group, entries in pyproject["project"].get("entry-points", {}).items():
        lines.append(f"[{group}]")
        lines += [f"{name} = {target}" for name, target in entries.items()]
        lines.append("")
    return "\n".join(lines)


def install(site_packages: Path, plugin_dir: Path = HERE) -> Path:
    pyproject = tomllib.loads((plugin_dir / "pyproject.toml").read_text())
    project = pyproject["project"]
    dist_name = project["name"].replace("-", "_")
    for old in site_packages.glob(f"{dist_name}-*.dist-info"):
        for f in old.iterdir():
            f.unlink()
        old.rmdir()
    dist_info = site_packages / f"{dist_name}-{project['version']}.dist-info"
    dist_info.mkdir(parents=True)
    files = {
        "METADATA": f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n"
        f"Summary: {project.get('description', '')}\n",
        "entry_points.txt": entry_points_txt(pyproject),
        "INSTALLER": "sagestack\n",
    }
    for name, text in files.items():
        (dist_info / name).write_text(text)
    pth = site_packages / f"{dist_name}.pth"
    pth.write_text(f"{plugin_dir}\n")
    record = [f"{dist_info.name}/{name},," for name in [*files, "RECORD"]] + [f"{pth.name},,"]
    (dist_info / "RECORD").write_text("\n".join(record) + "\n")
    return dist_info


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(sysconfig.get_paths()["purelib"])
    print(install(target))
