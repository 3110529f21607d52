"""Generate docs/rules.md from the rules registry.  python scripts/gen_rule_docs.py [--check]"""
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "docs" / "rules.md"


def render() -> str:
    from nbdebug.rules import CAUSES, RULES

    by_cause = {c: [r for r in RULES if r.cause == c] for c in CAUSES}
    lines = ["# Rules catalogue", "",
             "Generated from the rules registry by `scripts/gen_rule_docs.py`; do not edit by hand.", "",
             f"{len(RULES)} rules cover {sum(1 for c in CAUSES if by_cause[c])} of the {len(CAUSES)} causes.",
             "Findings are ranked errors first, and within a severity a root cause before its",
             "consequences (a NaN input before the NaN it causes downstream; dead ReLUs before a",
             "constant output).", "",
             "| code | cause | severity | needs | title |", "|---|---|---|---|---|"]
    for r in sorted(RULES, key=lambda r: r.code):
        lines.append(f"| [{r.code}](#{r.code.lower()}) | `{r.cause}` | {r.severity} | {r.needs} | {r.title} |")
    lines.append("")
    for cause in CAUSES:
        lines.append(f"## `{cause}`")
        lines.append("")
        if not by_cause[cause]:
            lines.append("No rule yet.")
            lines.append("")
        for r in by_cause[cause]:
            lines += [f"### {r.code}", "", f"**{r.title}** · severity: {r.severity} · needs: {r.needs}", "",
                      r.explanation, "", f"**Fix.** {r.fix}", "", f"**Thresholds.** {r.thresholds}", "",
                      "**Examples** (these are also its tests): fires on " +
                      ", ".join(f"`{b.__name__.strip('_')}`" for b in r.bad) + "; silent on " +
                      ", ".join(f"`{g.__name__.strip('_')}`" for g in r.good) + ".", ""]
    return "\n".join(lines)


def main(argv):
    text = render()
    if "--check" in argv:
        current = OUT.read_text() if OUT.exists() else ""
        if current != text:
            print("docs/rules.md is stale: run python scripts/gen_rule_docs.py")
            return 1
        return 0
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(text)
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
