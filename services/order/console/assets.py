"""Build step: install the console's browser libraries from npm (package-lock.json) and copy the files it serves
into static/vendor. Run `python -m services.order.console.assets` after a clone and whenever the lock changes;
nothing is fetched at run time."""

import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
VENDOR = HERE / "static" / "vendor"
FILES = {  # served name: file in node_modules
    "htmx.min.js": "htmx.org/dist/htmx.min.js",
    "sse.min.js": "htmx-ext-sse/dist/sse.min.js",
    "chart.umd.min.js": "chart.js/dist/chart.umd.min.js",
}


def missing() -> list[str]:
    """The served files not there yet."""
    return [name for name in FILES if not (VENDOR / name).is_file()]


def build(*, force: bool = False) -> None:
    """`npm ci` (exact versions from the lock) and copy the files the console serves."""
    if not force and not missing():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("npm is needed to build the console's assets (apt-get install nodejs npm)")
    subprocess.run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=HERE, check=True)
    VENDOR.mkdir(parents=True, exist_ok=True)
    for name, source in FILES.items():
        shutil.copyfile(HERE / "node_modules" / source, VENDOR / name)


if __name__ == "__main__":
    build(force="--force" in sys.argv[1:])
    print(f"console assets in {VENDOR}: {', '.join(FILES)}")
