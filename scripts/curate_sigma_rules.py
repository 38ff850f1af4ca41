"""Build the bundled SigmaHQ rule set in src/cityops/services/soc/rules/ (re-runnable).

Criteria (docs/soc.md, "Bundled rules"):
- only SigmaHQ's main ``rules/`` tree (not emerging-threats or threat-hunting, which are
  campaign- or hunting-specific and need analyst tuning);
- status stable, test or experimental (deprecated and unsupported rules are not shipped);
- level low, medium, high or critical (``informational`` rules are hunting aids that would
  flood the alert center);
- the rule compiles with CityOps' engine (pySigma parses it; our compiler accepts it).
Files keep SigmaHQ's relative paths and their content byte for byte, so each rule's ``author``
stays with it (DRL 1.1 attribution). Usage:

    python scripts/curate_sigma_rules.py [--source ../shared/data/sigma] [--dest DIR]
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections import Counter
from pathlib import Path

import yaml

from cityops.services.soc.engine.compiler import load_rules

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "sigma"
DEFAULT_DEST = ROOT / "src" / "cityops" / "services" / "soc" / "rules"
KEPT_STATUS = frozenset({"stable", "test", "experimental"})
KEPT_LEVELS = frozenset({"low", "medium", "high", "critical"})
LICENSE_FILE = "LICENSE.Detection.Rules.md"

README = """# Bundled Sigma rules (curated from SigmaHQ)

These detection rules are copied unchanged from the SigmaHQ rule repository
<https://github.com/SigmaHQ/sigma>, commit `{commit}`, by `scripts/curate_sigma_rules.py`.
They are licensed under the **Detection Rule License (DRL) 1.1**
(<https://github.com/SigmaHQ/Detection-Rule-License>), whose full text is in
`LICENSE.Detection.Rules.md` beside this file. Each rule keeps its `author` field; alerts and
detections built from a rule carry the rule's author, as the DRL requires.

Criteria: SigmaHQ's `rules/` tree only; status stable, test or experimental; level low,
medium, high or critical; the rule compiles with CityOps' Sigma engine.

| | rules |
|---|---|
{table}
"""


def _meta(path: Path) -> dict[str, object]:
    doc = next(iter(yaml.safe_load_all(path.read_text(encoding="utf-8"))), None)
    return doc if isinstance(doc, dict) else {}


def curate(source: Path, dest: Path) -> Counter[str]:
    rules_root = source / "rules"
    if not rules_root.is_dir():
        raise SystemExit(f"no SigmaHQ rules folder at {rules_root}")
    counts: Counter[str] = Counter()
    if dest.exists():
        for child in dest.iterdir():  # keep nothing stale from an earlier run
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    dest.mkdir(parents=True, exist_ok=True)
    for path in sorted(rules_root.rglob("*.yml")):
        meta = _meta(path)
        counts["seen"] += 1
        if str(meta.get("status")) not in KEPT_STATUS:
            counts[f"dropped: status {meta.get('status')}"] += 1
            continue
        level = str(meta.get("level", "")).split("#")[0].strip()
        if level not in KEPT_LEVELS:
            counts[f"dropped: level {level or 'none'}"] += 1
            continue
        compiled, failed = load_rules([path])
        if failed or not compiled:
            counts["dropped: does not compile"] += 1
            for where, why in failed:
                print(f"not compiled: {where}: {why}", file=sys.stderr)
            continue
        target = dest / path.relative_to(rules_root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        counts["kept"] += 1
        counts[f"kept: {path.relative_to(rules_root).parts[0]}"] += 1
    shutil.copyfile(source / LICENSE_FILE, dest / LICENSE_FILE)
    commit = "unknown"
    for line in (source / "README.md").read_text(encoding="utf-8").splitlines():
        if "commit `" in line:
            commit = line.split("commit `", 1)[1].split("`", 1)[0]
            break
    table = "\n".join(f"| {key} | {value} |" for key, value in sorted(counts.items()))
    (dest / "README.md").write_text(README.format(commit=commit, table=table), encoding="utf-8")
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST)
    args = parser.parse_args()
    for key, value in sorted(curate(args.source, args.dest).items()):
        print(f"{key}: {value}")


if __name__ == "__main__":
    main()
