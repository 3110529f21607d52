"""The documentation site builds with mkdocs in strict mode (broken links and missing pages fail)."""
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_mkdocs_builds_strictly(tmp_path):
    pytest.importorskip("mkdocs")
    r = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert (tmp_path / "site" / "rules" / "index.html").exists()


def test_docs_cover_every_cause():
    from nbdebug.rules import CAUSES

    text = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "docs").glob("*.md"))
    missing = [c for c in CAUSES if f"`{c}`" not in text]
    assert not missing, missing
    rules_md = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    no_rule = re.findall(r"## `([a-z-]+)`\n\nNo rule yet\.", rules_md)
    assert not no_rule, f"causes without a rule: {no_rule}"


def test_faq_answers_the_questions_users_ask():
    faq = (ROOT / "docs" / "faq.md").read_text(encoding="utf-8").lower()
    for topic in ("gpu", "large models", "what does nbdebug change in my model", "sent to the browser"):
        assert topic in faq, topic
