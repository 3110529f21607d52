"""trace.to_html: one self-contained file, no network, every user string escaped (browser side: tests/browser)."""
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import torch
import torch.nn as nn

import nbdebug
from nbdebug import payload
from nbdebug.examples import log_of_relu
from nbdebug.report import embed_json

ROOT = Path(__file__).resolve().parents[1]
IMG = "<img src=x onerror=alert(1)>"
SCRIPT = "</script><script>alert(2)</script>"


def hostile_model():
    """Module names, a class name and an exception text that are markup."""
    Evil = type("<b>Evil</b>", (nn.Module,), {"forward": lambda self, x: x * 2})
    m = type("<i>Root</i>", (nn.Sequential,), {})()
    m.add_module(IMG, nn.Linear(4, 4))
    m.add_module(SCRIPT, Evil())
    m.add_module("<!--", nn.ReLU())
    return m


class Raises(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        raise RuntimeError("<img src=y onerror=alert(3)> </script>")


class Elements(HTMLParser):
    """The elements a browser's parser would build from the file (<noscript> content kept apart: with
    scripting on, a browser reads it as text)."""

    def __init__(self):
        super().__init__()
        self.tags, self.attrs, self.scripts, self.noscript_tags = [], [], [], []
        self._script = self._noscript = False

    def handle_starttag(self, tag, attrs):
        if self._noscript:
            self.noscript_tags.append(tag)
            return
        self.tags.append(tag)
        self.attrs.append((tag, dict(attrs)))
        if tag == "script":
            self._script = True
            self.scripts.append("")
        self._noscript = tag == "noscript"

    def handle_endtag(self, tag):
        if tag == "script":
            self._script = False
        if tag == "noscript":
            self._noscript = False

    def handle_data(self, data):
        if self._script:
            self.scripts[-1] += data


STATIC_TAGS = {"style", "div", "b", "span", "table", "thead", "tbody", "tr", "th", "td", "ul", "li", "code"}


def parsed(html: str) -> Elements:
    p = Elements()
    p.feed(html)
    return p


@pytest.fixture(scope="module")
def hostile_report():
    torch.manual_seed(0)
    t = nbdebug.trace(hostile_model(), torch.randn(3, 4))
    return t, t.to_html()


def test_to_html_writes_one_file_and_returns_it(tmp_path):
    t = nbdebug.trace(**log_of_relu())
    path = tmp_path / "report.html"
    html = t.to_html(path)
    assert path.read_text(encoding="utf-8") == html
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert list(tmp_path.iterdir()) == [path]   # one file, nothing beside it


def test_report_embeds_trace_details_and_the_same_es_module():
    t = nbdebug.trace(**log_of_relu(), steps=3)
    p = parsed(t.to_html())
    kinds = [a.get("type") for tag, a in p.attrs if tag == "script"]
    assert kinds == ["application/json", "module"]
    data = json.loads(p.scripts[0])
    assert data["summary"] == json.loads(payload.summary_json(t))
    assert len(data["details"]) == len(t.calls)
    assert data["details"][2]["outputs"][0]["hist"] == t.calls[2].outputs[0].hist
    assert data["esm"] == (ROOT / "js" / "widget.js").read_text(encoding="utf-8")
    assert len(data["summary"]["steps"]) == 3
    shim = p.scripts[1]
    for used in ("get(", "set(", "save_changes()", "on(", "off(", "send(", "msg:custom", "createObjectURL",
                 "import(url)"):
        assert used in shim


def test_report_makes_no_network_request_by_construction():
    html = nbdebug.trace(**log_of_relu()).to_html()
    p = parsed(html)
    assert not {"link", "img", "iframe", "object", "embed", "base"} & set(p.tags)
    for tag, attrs in p.attrs:
        assert "src" not in attrs and "href" not in attrs, (tag, attrs)
    csp = next(a["content"] for tag, a in p.attrs if tag == "meta" and a.get("http-equiv") ==
               "Content-Security-Policy")
    assert "default-src 'none'" in csp and "connect-src 'none'" in csp
    urls = set(re.findall(r"https?://[^\s\"'<>)\\]+", html))
    assert urls <= {"http://www.w3.org/2000/svg"}, urls   # an SVG namespace name, never fetched


def test_user_strings_cannot_become_markup(hostile_report):
    t, html = hostile_report
    p = parsed(html)
    assert p.tags.count("script") == 2 and "img" not in p.tags and "b" not in p.tags
    assert set(p.noscript_tags) <= STATIC_TAGS      # the static fallback escapes names too
    assert html.count("</script>") == 2          # only our own two script elements end
    data_text = p.scripts[0]
    assert "</" not in data_text and "<img" not in data_text and "<!--" not in data_text
    data = json.loads(data_text)
    names = [c.name for c in t.calls]
    assert IMG in names and SCRIPT in names
    assert IMG in json.dumps(data["summary"], ensure_ascii=False)
    assert "<b>Evil</b>" in data["summary"]["s"]           # the class name, as data
    title = re.search(r"<title>(.*)</title>", html).group(1)
    assert title == "nbdebug report · &lt;i&gt;Root&lt;/i&gt;" and "i" not in p.tags


def test_exception_text_is_escaped():
    torch.manual_seed(0)
    t = nbdebug.trace(Raises(), torch.randn(2, 4))
    html = t.to_html()
    p = parsed(html)
    assert "img" not in p.tags and html.count("</script>") == 2
    assert set(p.noscript_tags) <= STATIC_TAGS
    data = json.loads(p.scripts[0])
    assert data["summary"]["error"]["message"].startswith("<img src=y")


def test_embed_json_round_trips_and_hides_tag_openers():
    value = {"a": "</script>", "b": "<img src=x>", "c": "<!-- x -->", "d": "a < b and 1<2", "e": "\u2028"}
    text = embed_json(value)
    assert "</" not in text and "<img" not in text and "<!--" not in text and "<\\/script>" in text
    assert json.loads(text) == value
