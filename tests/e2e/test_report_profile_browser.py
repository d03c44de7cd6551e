"""A real profiled run (`pytest examples --board=corstone300 --hil-profile`)
writes hil's HTML report and pytest-html's; headless Chromium renders both,
and the rendered pages carry the per-operator profile with the model's real
operators, the per-vector agreement, what ran, and hil's columns in
pytest-html's table."""

from __future__ import annotations

import importlib.util
import json
import re
from html import unescape
from pathlib import Path

import pytest

from hil.model.facts import model_facts
from hil.model.file import ModelFile
from tests.e2e.helpers import REPO, processes_tagged, pytest_args, run_child
from tests.e2e.test_html_report import browser

MODEL = REPO.parent / "shared" / "models" / "hello_world_int8.tflite"


def rendered(page: Path) -> str:
    dom = browser("--virtual-time-budget=10000", "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr
    return dom.stdout


def test_profiled_run_renders_its_profile_in_a_browser(tmp_path: Path, process_tag: str) -> None:
    if importlib.util.find_spec("pytest_html") is None:
        pytest.fail("pytest-html is not installed: it is a dev extra (tools/setup.sh installs it)")
    ours, theirs, report = tmp_path / "hil.html", tmp_path / "pytest.html", tmp_path / "r.json"
    proc = run_child(
        pytest_args(
            "examples",
            "--board=corstone300",
            "--hil-profile",
            f"--hil-html={ours}",
            f"--hil-report={report}",
            f"--html={theirs}",
            "--self-contained-html",
        ),
        cwd=REPO,
        HIL_PROCESS_TAG=process_tag,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (case,) = json.loads(report.read_text())["cases"]
    ops = [o["op"] for o in case["profile"]["ops"]]
    # the profile's operators are the model's own, in its order
    assert ops == [op.op for op in model_facts(ModelFile(MODEL)).ops] and ops

    dom = rendered(ours)
    section = re.search(r'<section id="profiles">(.*?)</section>', dom, re.S)
    assert section, "no per-operator profile section in the rendered page"
    shown = re.findall(r'<td class="l op">([^<]*)</td>', section[1])
    assert shown == ops
    shares = [float(s) for s in re.findall(r"<td>([0-9.]+)%</td>", section[1])]
    assert len(shares) == len(ops) and 0 < sum(shares) <= 100.5
    agreement = re.search(r'<table id="agreement">(.*?)</table>', dom, re.S)
    assert agreement and "tflm (exact)" in agreement[1]
    tflm = case["aggregate"]["agreement"]["tflm"]
    assert (tflm["bit_exact"], tflm["within_tolerance"]) == (tflm["total"], 0)
    what_ran = re.search(r'<table id="provenance">(.*?)</table>', dom, re.S)
    assert what_ran and case["test"] in unescape(what_ran[1])
    assert case["hil_version"] in what_ran[1] and case["backend"] in what_ran[1]

    # pytest-html's page is built by its own script: hil's columns, filled in
    theirs_dom = rendered(theirs)
    assert re.search(r'<th class="hil-engine"[^>]*>hil engine</th>', theirs_dom)
    engine = re.search(r'<td class="col-hil-engine">([^<]*)</td>', theirs_dom)
    assert engine and unescape(engine[1]) == case["engine"]
    counter = re.search(r'<td class="col-hil-counter">([^<]*)</td>', theirs_dom)
    assert counter and counter[1].endswith(" instructions")
    assert 'class="hil-profile"' in theirs_dom  # the per-test extra, with the profile
    assert processes_tagged(process_tag) == []
