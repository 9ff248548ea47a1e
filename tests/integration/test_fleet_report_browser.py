"""The fleet page in a real browser (Debian's headless Chromium): the numbers it shows are the fleet
JSON's, and the screenshot has the bars in their colours."""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser

import pytest

from ansible_collections.kubeguard.hardening.plugins.module_utils.report import fleet_report
from test_fleet_report import node_report  # pylint: disable=import-error

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                                reason="no Chromium here (testbed/setup.sh installs it; CI requires it)")


def chromium(*args):
    assert CHROMIUM, "chromium is not installed (testbed/setup.sh installs it)"
    proc = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           "--window-size=1400,1000", *args], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def png_pixels(path):
    """RGB(A) rows of an 8-bit PNG (what Chromium writes), without an imaging library."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw, stride, rows, previous = zlib.decompress(idat), width * channels, [], bytearray(width * channels)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up, corner = previous[i], previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 255
        rows.append(bytes(line))
        previous = line
    return {tuple(row[x:x + 3]) for row in rows for x in range(0, stride, channels)}


class Cells(HTMLParser):
    """The numbers in the rendered DOM: per (node, section), per status."""

    def __init__(self):
        super().__init__()
        self.cells, self.totals, self._cell, self._status, self._total = {}, {}, None, None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "td" and "data-node" in attrs:
            self._cell = (attrs["data-node"], attrs["data-section"])
            self.cells[self._cell] = {}
        elif tag == "span" and "data-status" in attrs and "n" in (attrs.get("class") or "").split():
            self._status = attrs["data-status"]
        elif tag == "span" and "total" in (attrs.get("class") or "").split():
            self._total = attrs["data-status"]

    def handle_data(self, data):
        if self._status and self._cell and data.strip():
            self.cells[self._cell][self._status] = int(data)
            self._status = None
        elif self._total and data.strip().isdigit():
            self.totals[self._total] = int(data)
            self._total = None


def test_the_page_chromium_renders_shows_the_fleet_json_numbers_and_the_bars(tmp_path):
    reports = [node_report("cp1", ["control_plane"], failing={"1.2.15", "1.1.1"}, waivers={"1.2.16": "central audit"}),
               node_report("cp2", ["control_plane"]), node_report("w1", ["worker"], failing={"4.2.1"})]
    previous = fleet_report.build(reports[1:], None, "t1")
    fleet = fleet_report.build(reports, previous, "t2")
    (tmp_path / "fleet.json").write_text(fleet_report.to_json(fleet))
    page = tmp_path / "fleet.html"
    page.write_text(fleet_report.to_html(fleet))
    dom = chromium("--dump-dom", page.as_uri())
    parsed = Cells()
    parsed.feed(dom)
    expected = json.loads((tmp_path / "fleet.json").read_text())
    want = {(n["node"], s): {k: c[k] for k in fleet_report.BAR_STATUSES} for n in expected["nodes"] for s, c in n["sections"].items()}
    assert parsed.cells == want
    assert parsed.totals == expected["totals"]
    assert re.search(r"newly failing</b> <span id=\"newly-failing\">1.1.1 on cp1, 1.2.15 on cp1", dom)
    shot = tmp_path / "fleet.png"
    chromium(f"--screenshot={shot}", page.as_uri())
    colours = png_pixels(shot)
    for status in ("pass", "fail", "manual", "waived"):
        rgb = tuple(int(fleet_report.STATUS_COLOURS[status][i:i + 2], 16) for i in (1, 3, 5))
        assert rgb in colours, f"no {status} bar in the screenshot"
    os.makedirs(os.environ.get("KG_ARTIFACTS", str(tmp_path)), exist_ok=True)
    shutil.copy(shot, os.path.join(os.environ.get("KG_ARTIFACTS", str(tmp_path)), "fleet-report.png"))
