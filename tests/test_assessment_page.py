"""The single-patient assessment page: banner, escaping, the not-assessed visit, no network, the DOM in a real
headless Chromium (values, animation, no script errors), and the PDF (Chromium tests skip without one)."""

from __future__ import annotations

import copy
import re
import time
from html.parser import HTMLParser

import numpy as np
import pytest
from browser_driver import headless_chrome

from evaluation.assessment.page import render_report
from evaluation.assessment.pdf import write_pdf
from evaluation.assessment.svg import gradcam_skeleton, line_chart, nice_ticks, probability_bars, ylorrd
from evaluation.browser import find_chromium
from gaitfeat.layouts import COCO17
from gaitfeat.testing import stick_walker

XSS = "<script>alert(1)</script>"
# Unrounded visit medians; the page shows them with these decimals (angles and cadence 1, lengths/speeds 2).
FEATURE_VALUES = {"cadence": 92.01234, "walking_speed": 1.234567, "walking_speed_m": 0.987654,
                  "step_length_m": 0.456789, "knee_rom_left": 55.23456, "knee_rom_right": 41.00712,
                  "hip_rom_left": 38.44912, "hip_rom_right": 40.05, "step_length_left": 0.504912,
                  "step_length_right": 0.6213}
DIGITS = {"cadence": 1, "walking_speed": 2, "knee_rom_left": 1, "knee_rom_right": 1, "hip_rom_left": 1,
          "hip_rom_right": 1, "step_length_left": 2, "step_length_right": 2}


# A frontal COCO-17 template pose (y up), as a bundle draws its Grad-CAM skeleton.
FRONT_POSE = [[0, 1.75], [0.04, 1.8], [-0.04, 1.8], [0.09, 1.77], [-0.09, 1.77], [0.2, 1.5], [-0.2, 1.5],
              [0.26, 1.2], [-0.26, 1.2], [0.28, 0.92], [-0.28, 0.92], [0.12, 1.0], [-0.12, 1.0], [0.13, 0.52],
              [-0.13, 0.52], [0.14, 0.06], [-0.14, 0.06]]


def _cycle(amp: float, offset: float, shift: float = 0.0, holes: tuple[int, ...] = ()) -> list:
    x = np.linspace(0, 1, 101)
    vals = (offset + amp * np.sin(2 * np.pi * (x + shift))).round(3).tolist()
    for i in holes:
        vals[i] = None                   # a stretch without data breaks the line
    return vals


def _band(amp: float, offset: float) -> dict:
    med = _cycle(amp, offset)
    return {"low": [v - 6 for v in med], "median": med, "high": [v + 6 for v in med]}


def _animation() -> dict:
    kp = stick_walker(60, layout="coco17", cadence=110.0, leg_px=200.0).keypoints[..., :2]
    xy = ((kp - kp[:, 11:13].mean(axis=1, keepdims=True)) / 200.0).round(4)     # leg lengths, y down
    frames = [[float(v) for v in f.ravel()] for f in xy]
    frames[3][2 * 15] = frames[3][2 * 15 + 1] = None                             # left ankle lost in frame 3
    sides = []
    for a, b in COCO17.edges:
        s = {COCO17.joints[a].split("_")[0], COCO17.joints[b].split("_")[0]}
        sides.append(s.pop() if len(s) == 1 and s <= {"left", "right"} else "centre")
    return {"fps": 30.0, "step": 1, "frames": frames, "edges": [list(e) for e in COCO17.edges], "sides": sides,
            "view_box": [-1.2, -1.9, 2.4, 3.1]}


def _visit_ok() -> dict:
    feats = [
        {"measure": "knee ROM", "feature": "knee_rom", "unit": "deg", "left": 55.2, "right": 41.0, "value": None,
         "low": 51.5, "high": 72.9, "flag_left": "within", "flag_right": "below", "flag": None,
         "columns": {"left": "knee_rom_left", "right": "knee_rom_right"}},
        {"measure": "hip ROM", "feature": "hip_rom", "unit": "deg", "left": 38.4, "right": 40.1, "value": None,
         "low": 35.0, "high": 50.0, "flag_left": "within", "flag_right": "within", "flag": None,
         "columns": {"left": "hip_rom_left", "right": "hip_rom_right"}},
        {"measure": "step length", "feature": "step_length", "unit": "leg lengths", "left": 0.5, "right": 0.62,
         "value": None, "low": 0.55, "high": 0.8, "flag_left": "below", "flag_right": "within", "flag": None,
         "columns": {"left": "step_length_left", "right": "step_length_right"}},
        {"measure": "cadence", "feature": "cadence", "unit": "steps/min", "left": None, "right": None,
         "value": 92.0, "low": 110.4, "high": 155.2, "flag": "below", "columns": {"value": "cadence"}},
        {"measure": "walking speed <i>", "feature": "walking_speed", "unit": "leg lengths/s", "left": None,
         "right": None, "value": 1.23, "low": 0.9, "high": 1.2, "flag": "above", "columns": {"value": "walking_speed"}},
    ]
    gmfcs = {"task": "classification", "title": "GMFCS level", "primary": "logreg_all", "classes": [1, 2, 3, 4],
             "class_names": ["GMFCS I", "GMFCS II", "GMFCS III", "GMFCS IV"],
             "models": {"logreg_all": {"description": "logistic regression, all features", "predicted": 3,
                                       "predicted_name": "GMFCS III", "proba": [0.05, 0.20, 0.70, 0.05],
                                       "ensemble": {"k": 5, "mean": [0.06, 0.22, 0.66, 0.06],
                                                    "sd": [0.02, 0.08, 0.09, 0.02], "low": [0.03, 0.12, 0.55, 0.03],
                                                    "high": [0.09, 0.33, 0.78, 0.09], "votes": [0, 1, 4, 0],
                                                    "agreement": 0.8}},
                        "xgb_all": {"description": "gradient boosting", "predicted": 2, "predicted_name": "GMFCS II",
                                    "proba": [0.1, 0.5, 0.3, 0.1], "ensemble": None}}}
    gdi = {"task": "regression", "title": "Gait Deviation Index", "unit": "GDI points", "primary": "ridge_all",
           "models": {"ridge_all": {"description": "ridge", "value": 71.34, "interval": [62.1, 80.5],
                                    "interval_method": "± 1.96 × cross-validated RMSE (6.1)",
                                    "ensemble": {"k": 5, "mean": 70.9, "sd": 1.2, "low": 69.0, "high": 72.8}}}}
    statements = [{"feature": "cadence", "text": "cadence 92 steps/min (typical 110-155): below the typical range",
                   "value": 92.0, "unit": "steps/min", "low": 110.4, "high": 155.2, "status": "below",
                   "contribution": 0.41},
                  {"feature": "knee_rom_right", "text": "right knee ROM 41° (typical 52-73): below <b>",
                   "value": 41.0, "unit": "deg", "low": 51.5, "high": 72.9, "status": "below", "contribution": 0.22}]
    return {
        "visit": 1, "label": "visit 1 — walk01", "video_id": "walk01", "source": "openpose:/data/walk01",
        "status": "ok", "message": None,
        "quality": {"frames": 401, "fps": 29.97, "duration_s": 13.4, "layout_in": "body25", "layout_used": "coco17",
                    "missing_keypoints_fraction": 0.07,
                    "preprocessing": {"gaps_filled": 120, "outliers_rejected": 3, "leg_swaps_fixed": 1},
                    "clips_total": 24, "clips_kept": 20, "clips_dropped": {"low_valid_fraction": 4},
                    "clips_summary": "20 of 24 windows kept", "spatial_method": "foot_contact",
                    "usable_fraction": 0.93},
        "features": feats, "typical_source": "gaitfeat simulator, 150 typically developing children, 5th-95th pct",
        "feature_values": dict(FEATURE_VALUES),
        "curves": {"points": 101, "n_strides": [4, 5],
                   "channels": {"left_hip": _cycle(20, 10), "right_hip": _cycle(18, 12, 0.05),
                                "left_knee": _cycle(30, 35, holes=(40, 41, 42)), "right_knee": _cycle(25, 30, 0.1),
                                "trunk": _cycle(2, 5)},
                   "typical": {"hip": _band(20, 10), "knee": _band(30, 35), "trunk": _band(2, 4)},
                   "typical_source": "simulated typical cohort"},
        "predictions": {"gmfcs": gmfcs, "gdi": gdi},
        "evidence": {"model": "xgb_all", "suite": "gmfcs", "target": "GMFCS III", "statements": statements,
                     "rationale": "The model's GMFCS III was driven most by the low cadence.",
                     "method": "SHAP (TreeExplainer) of xgb_all towards GMFCS III"},
        "gradcam": {"model": "stgcn", "layout": "coco17", "joints": list(COCO17.joints),
                    "scores": [round(j / 16, 3) for j in range(17)], "edges": [list(e) for e in COCO17.edges],
                    "template": FRONT_POSE},
        "animation": _animation(),
    }


def make_record(simulated: bool = True) -> dict:
    """Two visits: one assessed with every section, one not assessed (too short)."""
    not_assessed = {"visit": 2, "label": "visit 2 — walk02", "video_id": "walk02", "source": "openpose:/data/walk02",
                    "status": "not_assessed",
                    "message": "This walk could not be assessed: only 2.1 s of walking (90 frames) <b>x</b>",
                    "quality": {"frames": 90, "fps": 30.0, "duration_s": 2.1, "layout_in": "coco17",
                                "layout_used": "coco17", "missing_keypoints_fraction": 0.2, "preprocessing": {},
                                "clips_total": 0, "clips_kept": 0, "clips_dropped": {}, "clips_summary": None,
                                "spatial_method": None, "usable_fraction": 0.4},
                    "features": None, "feature_values": None, "curves": None, "predictions": {}, "evidence": None,
                    "gradcam": None, "animation": None}
    return {
        "format": 1, "kind": "gaitfeat-assessment", "created": "2026-12-03T15:40:00+00:00",
        "patient": {"patient_id": XSS, "age_years": 9.0, "height_m": 1.32},
        "bundle": {"path": "model/", "format": 1, "created": "2026-11-30T10:00:00+00:00", "suites": ["gmfcs", "gdi"],
                   "simulated": simulated, "training_data": "SIMULATED cohort from the gaitfeat gait simulator",
                   "layout": "coco17", "fps_range": [15.0, 120.0], "window": 124, "stride": 12,
                   "models": {"gmfcs": {"logreg_all": {"description": "logistic", "cv": {"balanced_accuracy": 0.71}},
                                        "xgb_all": {"description": "xgb", "cv": {"balanced_accuracy": 0.69}}},
                              "gdi": {"ridge_all": {"description": "ridge", "cv": {"rmse": 6.1, "pearson_r": 0.8}}}},
                   "primary": {"gmfcs": "logreg_all", "gdi": "ridge_all"}, "ensemble_k": 5,
                   "manifest_sha256": "ab" * 32, "git": {"commit": "c96cb5d", "dirty": False},
                   "packages": {"numpy": "2.4.6", "scikit-learn": "1.7.0"}},
        "environment": {"python": "3.11.7", "platform": "Linux", "packages": {"numpy": "2.4.6",
                                                                              "scikit-learn": "1.8.0"},
                        "git": {"commit": "c96cb5d", "dirty": True}},
        "visits": [_visit_ok(), not_assessed],
    }


class _Scripts(HTMLParser):
    """Collects the attributes of every <script> element and every src/href value."""

    def __init__(self):
        super().__init__()
        self.scripts, self.links = [], []

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self.scripts.append(dict(attrs))
        self.links += [v for k, v in attrs if k in ("src", "href") and v]


def _section(html: str, visit: int) -> str:
    start = html.index(f'<section class="visit" id="visit-{visit}">')
    return html[start:html.index("</section>", start)]


def test_banner_escaping_and_scripts():
    html = render_report(make_record())
    assert 'class="sim-banner"' in html and "Trained on simulated data — not for clinical use" in html
    assert XSS not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "walking speed &lt;i&gt;" in html and "below &lt;b&gt;" in html
    parser = _Scripts()
    parser.feed(html)
    assert parser.scripts == [{"type": "application/json", "id": "assessment-data"}, {}]
    assert html.count("<script") == 2
    plain = render_report(make_record(simulated=False))
    assert 'class="sim-banner"' not in plain and "not for clinical use" not in plain


def test_no_network_references():
    html = render_report(make_record())
    parser = _Scripts()
    parser.feed(html)
    assert parser.links and all(link.startswith("#") for link in parser.links)
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, re.IGNORECASE)
    assert "Self-contained page: nothing is loaded from the network." in html


def test_not_assessed_visit_shows_message_only():
    html = render_report(make_record())
    sec = _section(html, 2)
    assert 'class="not-assessed"' in sec and "only 2.1 s of walking (90 frames) &lt;b&gt;x&lt;/b&gt;" in sec
    for absent in ('class="features"', "data-feature", 'class="pred-block"', 'class="chart"', "anim-2",
                   "<h3>Prediction", "<h3>Evidence"):
        assert absent not in sec
    assert 'class="quality"' in sec                       # the data quality still explains what was there
    ok = _section(html, 1)
    for present in ('class="features"', 'class="pred-block"', 'class="chart"', 'id="anim-1"', 'class="cam"'):
        assert present in ok


def test_sections_content_and_longitudinal_table():
    html = render_report(make_record())
    table = html[html.index('<table class="longitudinal">'):]
    table = table[:table.index("</table>")]
    assert table.count('<tr class="visit-row">') == 2
    assert "0.99 m/s" in table and "0.46 m" in table and "GMFCS III" in table and "71.3" in table
    ok = _section(html, 1)
    assert "4 of 5 fold models agree" in ok and "62.1–80.5" in ok and "± 1.96 × cross-validated RMSE" in ok
    assert ok.index("cadence 92 steps/min") < ok.index("right knee ROM 41°")     # strongest statement first
    assert '<span class="below">▼ below</span>' in ok and '<span class="above">▲ above</span>' in ok
    assert ok.count('<svg class="chart"') == 3                                   # hip, knee, trunk
    assert "strides averaged: 4 left, 5 right" in ok
    assert "packages" in html and "differs" in html
    one = make_record()
    one["visits"] = one["visits"][:1]
    assert '<table class="longitudinal">' not in render_report(one)
    none = copy.deepcopy(make_record())
    none["visits"][0]["evidence"] = None
    assert "No explanation is available" in render_report(none)


def test_sparse_and_damaged_records_render():
    # optional parts absent or null: the page still renders, with dashes and notes instead of numbers
    for rec in ({}, {"visits": [{"visit": 1, "status": "ok"}]}, {"visits": [{"status": "not_assessed"}]}):
        assert "Gait assessment" in render_report(rec)
    rec = make_record()
    visit = rec["visits"][0]
    visit["curves"]["channels"]["left_knee"] = [None] * 101
    visit["animation"]["frames"][0] = [None] * 34
    visit["predictions"]["gmfcs"]["models"]["logreg_all"]["ensemble"] = None
    visit["quality"] = None
    rec["patient"] = {"patient_id": None, "age_years": None, "height_m": None}
    html = render_report(rec)
    assert "No fold-model ensemble was bundled" in html and "No data-quality summary" in html
    assert 'style="visibility:hidden"' in html                  # first frame drawn with its missing joints hidden


def test_svg_helpers():
    assert nice_ticks(-3.2, 47.0)[0] <= -3.2 and nice_ticks(-3.2, 47.0)[-1] >= 47.0
    assert ylorrd(0.0) == "#ffffcc" and ylorrd(1.0) == "#800026" and ylorrd(None) == "#dddddd"
    chart = line_chart([("l", [1.0, None, 3.0, 4.0], "#1f5fbf")], {"low": [0, 0, 0, 0], "median": [1, 1, 1, 1],
                                                                   "high": [5, 5, 5, 5]}, title="<knee>")
    assert chart.count("M") >= 2 and "&lt;knee&gt;" in chart and 'class="band"' in chart   # the null breaks the line
    assert "no data" in line_chart([("l", [None, None], "#000")], None, title="x")
    bars = probability_bars(["<a>", "b"], [0.25, 0.75], mean=[0.3, 0.7], sd=[0.1, 0.1], predicted=1)
    assert "0.75" in bars and "&lt;a&gt;" in bars and bars.count('class="whisk"') == 4     # range and mean tick
    assert '<line x1="271" x2="271"' in bars            # the mean tick at 0.7 of the 230-unit track from x=110
    cam = gradcam_skeleton([[0, 0], [0, 1], None], [[0, 1], [1, 2]], [0.2, 0.9, None], ["a", "<b>", "c"])
    assert cam.count("<circle") == 2 and cam.count('class="cbone"') == 1 and "&lt;b&gt;: 0.90" in cam


def test_write_pdf_without_chromium(tmp_path, monkeypatch):
    from evaluation.assessment import pdf

    page = tmp_path / "a.html"
    page.write_text("<p>x</p>")
    monkeypatch.setattr(pdf, "find_chromium", lambda: None)
    with pytest.raises(FileNotFoundError, match="no Chromium"):
        pdf.write_pdf(page, tmp_path / "a.pdf")


# ---- in a real browser -------------------------------------------------------------------------------------

def _chrome():
    return headless_chrome(browser_log=True)


def test_page_in_headless_chromium(tmp_path):
    record = make_record()
    page = tmp_path / "assessment.html"
    page.write_text(render_report(record), encoding="utf-8")
    drv = _chrome()
    from selenium.common.exceptions import NoAlertPresentException, WebDriverException
    from selenium.webdriver.common.by import By
    try:
        # record uncaught script errors from the first line of the page on (a fallback for get_log)
        drv.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": (
            "window.__pageErrors = []; window.addEventListener('error', function (e) "
            "{ window.__pageErrors.push(String(e.message)); });")})
        drv.get(page.as_uri())
        svg = drv.find_element(By.ID, "anim-1")
        f0 = int(svg.get_attribute("data-frame"))
        time.sleep(1.0)
        f1 = int(svg.get_attribute("data-frame"))
        assert f1 != f0                                                 # 30 fps: about 30 frames later
        counter = drv.find_element(By.ID, "fcount-1").text
        assert re.fullmatch(r"frame \d+ / 60", counter)
        cells = drv.find_elements(By.CSS_SELECTOR, "[data-feature]")
        values = record["visits"][0]["feature_values"]
        assert {c.get_attribute("data-feature") for c in cells} == set(DIGITS)
        for cell in cells:
            name = cell.get_attribute("data-feature")
            assert cell.get_attribute("data-value") == repr(values[name])
            assert float(cell.get_attribute("data-value")) == values[name]
            assert cell.text == f"{values[name]:.{DIGITS[name]}f}"
        assert drv.find_element(By.CSS_SELECTOR, ".meta").text.startswith(f"Patient: {XSS}")
        with pytest.raises(NoAlertPresentException):
            _ = drv.switch_to.alert.text
        assert drv.execute_script("return window.__pageErrors || []") == []
        try:
            logs = drv.get_log("browser")
        except (WebDriverException, AttributeError):      # no log endpoint: the onerror record above decides
            logs = []
        errors = [e for e in logs if e.get("level") == "SEVERE" and "favicon" not in e.get("message", "")]
        assert not errors, errors
    finally:
        drv.quit()


def test_write_pdf(tmp_path):
    if find_chromium() is None:
        pytest.skip("no Chromium on this machine (Debian: apt-get install chromium)")
    page = tmp_path / "assessment.html"
    page.write_text(render_report(make_record()), encoding="utf-8")
    out = write_pdf(page, tmp_path / "out" / "assessment.pdf", timeout=120)
    data = out.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 5000
