"""The blinded rating kit: the page hides the key and escapes the data, the key un-blinds, the scorer's
statistics match hand computations, and the page works in a real headless Chromium (skipped without one)."""

from __future__ import annotations

import csv
import hashlib
import json
import math
import re
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from browser_driver import headless_chrome

from evaluation.rating_kit import build_kit, sample_subjects, score
from evaluation.rating_kit.__main__ import main
from gaitfeat.errors import ReaderError
from gaitfeat.labels import GAIT_CLASS_NAMES
from gaitfeat.testing import stick_walker

VARIANTS = {"ranked": "tokens ranked by attribution", "unranked": "tokens in a fixed order",
            "label_only": "the predicted class alone"}
CLASSES = ("typical", "antalgic", "ataxic", "parkinsonian")
XSS = "<script>alert(1)</script>"
DIMS = ("plausibility", "grounding", "specificity", "clarity")
COLUMNS = ("kit_id", "rater_id", "item", "option", *DIMS, "best")


def _skeleton(cadence: float, frames: int = 40) -> list:
    """A stick walker in leg lengths, hips at the origin, y up, one joint missing in one frame (JSON null)."""
    kp = stick_walker(frames, cadence=cadence, leg_px=200.0).keypoints[..., :2]
    sk = ((kp - kp[:, 8:9]) / 200.0 * np.array([1.0, -1.0])).round(4).tolist()
    sk[3][4] = [None, None]
    return sk


def write_report(folder: Path, *, sizes: dict | None = None, **overrides) -> Path:
    """A small rationales.json whose rationale texts name their variant and subject (the planted key)."""
    sizes = sizes or {c: 3 for c in CLASSES}
    subjects = []
    for ci, (c, k) in enumerate(sizes.items()):
        for j in range(k):
            sid = f"subj_{c}_{j}"
            texts = {v: f"VARIANT-{v} {sid}: {GAIT_CLASS_NAMES[c]} gait; cadence {100 + 7 * ci + j} steps/min"
                     for v in VARIANTS}
            texts["unranked"] += f"; {XSS} & more"           # must show as text, never run
            subjects.append({"subject_id": sid, "video_id": f"vid_{c}_{j}_V1", "true_class": c,
                             "predicted_class": CLASSES[(ci + j) % len(CLASSES)], "probability": 0.5 + 0.1 * j,
                             "rationales": texts, "skeleton": _skeleton(96.0 + 6 * ci + 3 * j)})
    report = {"format": "gaitfeat.rationales", "version": 1,
              "data": "Test cohort <img src=x onerror=alert(2)> of stick walkers",
              "simulated": True, "classes": list(CLASSES), "class_names": {c: GAIT_CLASS_NAMES[c] for c in CLASSES},
              "variants": VARIANTS, "layout": "body25",
              "edges": [list(e) for e in ((1, 8), (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (8, 9), (9, 10),
                                          (10, 11), (8, 12), (12, 13), (13, 14), (1, 0), (0, 15), (15, 17),
                                          (0, 16), (16, 18), (14, 19), (19, 20), (14, 21), (11, 22), (22, 23),
                                          (11, 24))],
              "fps": 30.0, "subjects": subjects}
    report.update(overrides)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "rationales.json").write_text(json.dumps(report))
    return folder


class _Rationales(HTMLParser):
    """The text of every ``p.rtext`` of the page, by (case, option)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.texts, self._at = {}, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "p" and a.get("class") == "rtext":
            self._at = (int(a["data-case"]), a["data-option"])
            self.texts[self._at] = ""

    def handle_endtag(self, tag):
        if tag == "p":
            self._at = None

    def handle_data(self, data):
        if self._at is not None:
            self.texts[self._at] += data


def page_rationales(html: str) -> dict:
    p = _Rationales()
    p.feed(html)
    return p.texts


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    report = write_report(tmp_path_factory.mktemp("report"))
    folder = build_kit(report, n=8, random_state=0)
    return report, folder, folder.joinpath("rating_kit.html").read_text(), json.loads((folder / "key.json").read_text())


def test_unblinding_recovers_the_planted_key(kit):
    report, folder, html, key = kit
    assert folder == report / "rating_kit"
    texts = page_rationales(html)
    assert len(key["items"]) == 8 and len(texts) == 8 * 3
    mappings = set()
    for it in key["items"]:
        assert sorted(it["options"]) == ["A", "B", "C"] and sorted(it["options"].values()) == sorted(VARIANTS)
        for option, variant in it["options"].items():
            assert texts[(it["item"], option)].startswith(f"VARIANT-{variant} {it['subject_id']}:")
        mappings.add(tuple(it["options"].values()))
    assert len(mappings) > 1                              # the order is shuffled per case, not fixed
    # 4 classes x 3 subjects, 8 cases: stratified sampling takes exactly 2 of each class
    assert sorted(it["true_class"] for it in key["items"]) == sorted(CLASSES * 2)
    assert key["source"]["sha256"] == hashlib.sha256((report / "rationales.json").read_bytes()).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{16}", key["kit_id"])


def test_page_hides_the_key_and_escapes_every_string(kit):
    report, _, html, key = kit
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html and "<img" not in html
    assert html.lower().count("<script") == 2             # the kit's own data block and script, nothing else
    assert "http://" not in html and "https://" not in html and not re.search(r"<[^>]+\s(src|href)=", html)
    assert "SIMULATED DATA" in html and key["kit_id"] in html
    rest = re.sub(r'<p class="rtext"[^>]*>.*?</p>', "", html, flags=re.DOTALL)
    assert rest.count("VARIANT-") == 0 and len(rest) < len(html)
    source = json.loads((report / "rationales.json").read_text())
    secrets = [*VARIANTS, *CLASSES, *(GAIT_CLASS_NAMES[c] for c in CLASSES), "true_class", "predicted_class"]
    secrets += [s["subject_id"] for s in source["subjects"]] + [s["video_id"] for s in source["subjects"]]
    for word in secrets:
        assert not re.search(rf"(?<![\w]){re.escape(word)}(?![\w])", rest, flags=re.IGNORECASE), word
    for it in key["items"]:                                # the probability is not shown either
        assert f">{it['probability']}<" not in rest


def test_same_random_state_gives_the_same_kit(kit, tmp_path):
    report, folder, _, _ = kit
    again = build_kit(report, n=8, random_state=0, out=tmp_path / "again")
    assert (again / "rating_kit.html").read_bytes() == (folder / "rating_kit.html").read_bytes()
    assert (again / "key.json").read_bytes() == (folder / "key.json").read_bytes()
    other = build_kit(report, n=8, random_state=1, out=tmp_path / "other")
    k0, k1 = (json.loads((f / "key.json").read_text()) for f in (folder, other))
    assert k0["kit_id"] != k1["kit_id"]
    assert [(i["subject_id"], i["options"]) for i in k0["items"]] != [(i["subject_id"], i["options"])
                                                                      for i in k1["items"]]


def test_sampling_is_stratified_over_true_classes():
    rng = np.random.default_rng(3)
    classes = ["a"] * 1 + ["b"] * 4 + ["c"] * 4
    picked = sample_subjects(classes, 7, rng)
    assert len(set(picked)) == 7
    assert sorted(classes[i] for i in picked) == ["a", "b", "b", "b", "c", "c", "c"]   # a gives its 1, b/c 3 each
    picked = sample_subjects(classes, 3, np.random.default_rng(4))
    assert sorted(classes[i] for i in picked) == ["a", "b", "c"]
    with pytest.raises(ValueError, match="cannot sample 10"):
        sample_subjects(classes, 10, rng)


@pytest.mark.parametrize("problem, message", [
    ("missing", "no such file"), ("format", "expected 'gaitfeat.rationales'"), ("version", "version 2"),
    ("few", "fewer than the 20 cases"), ("variant", "no rationale for variant(s) label_only"),
    ("skeleton", "skeleton must have shape"),
])
def test_bad_reports_exit_with_status_2(tmp_path, capsys, problem, message):
    folder = tmp_path / "r"
    if problem == "missing":
        folder.mkdir()
    elif problem == "format":
        write_report(folder, format="gaitfeat.metrics")
    elif problem == "version":
        write_report(folder, version=2)
    else:
        write_report(folder)
        data = json.loads((folder / "rationales.json").read_text())
        if problem == "variant":
            del data["subjects"][5]["rationales"]["label_only"]
        if problem == "skeleton":
            data["subjects"][2]["skeleton"] = [[1.0, 2.0]]
        (folder / "rationales.json").write_text(json.dumps(data))
    assert main([str(folder), "--n", "20" if problem == "few" else "4", "--random-state", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    assert not (folder / "rating_kit").exists()


# ---- scoring, against hand computations -------------------------------------------------------------------

HAND_KEY = {"format": "gaitfeat.rating_key", "version": 1, "kit_id": "00c0ffee00c0ffee", "variants": VARIANTS,
            "dimensions": list(DIMS), "options": ["A", "B", "C"],
            "items": [{"item": 1, "options": {"A": "ranked", "B": "unranked", "C": "label_only"}},
                      {"item": 2, "options": {"A": "label_only", "B": "ranked", "C": "unranked"}},
                      {"item": 3, "options": {"A": "unranked", "B": "label_only", "C": "ranked"}}]}
# (item, variant): plausibility, grounding, specificity, clarity ("" = unanswered)
HAND = {(1, "ranked"): (5, 4, 5, 3), (1, "unranked"): (3, 4, 3, 3), (1, "label_only"): (1, 2, 1, 3),
        (2, "ranked"): (4, 5, 4, 3), (2, "unranked"): (3, 3, 2, 3), (2, "label_only"): (2, 3, 3, 3),
        (3, "ranked"): (5, 4, 3, 3), (3, "unranked"): (4, 2, "", 3), (3, "label_only"): (2, 1, 2, 3)}
HAND_BEST = {1: "ranked", 2: "ranked", 3: "label_only"}


def write_ratings(path: Path, rater: str, *, kit_id: str = HAND_KEY["kit_id"], extra: list | None = None) -> Path:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        for it in HAND_KEY["items"]:
            for option, variant in it["options"].items():
                best = int(HAND_BEST[it["item"]] == variant)
                w.writerow([kit_id, rater, it["item"], option, *HAND[(it["item"], variant)], best])
        for row in extra or []:
            w.writerow(row)
    return path


@pytest.fixture
def hand_key(tmp_path):
    path = tmp_path / "key.json"
    path.write_text(json.dumps(HAND_KEY))
    return path


def test_scoring_matches_a_hand_computation(tmp_path, hand_key):
    s = score([write_ratings(tmp_path / "r1.csv", "r1")], hand_key, random_state=0)
    v = s["variants"]
    assert v["ranked"]["dimensions"]["plausibility"]["mean"] == pytest.approx(14 / 3)
    assert v["unranked"]["dimensions"]["plausibility"]["mean"] == pytest.approx(10 / 3)
    assert v["label_only"]["dimensions"]["plausibility"]["mean"] == pytest.approx(5 / 3)
    assert v["unranked"]["dimensions"]["specificity"]["mean"] == pytest.approx(2.5)      # (3 + 2) / 2
    assert v["unranked"]["dimensions"]["specificity"]["n"] == 2
    assert v["ranked"]["dimensions"]["specificity"]["n"] == 3
    lo, hi = v["ranked"]["dimensions"]["plausibility"]["ci"]
    assert 4.0 <= lo <= 14 / 3 <= hi <= 5.0
    assert v["ranked"]["dimensions"]["clarity"]["ci"] == [3.0, 3.0]
    assert v["ranked"]["preferred"]["rate"] == pytest.approx(2 / 3)
    assert v["unranked"]["preferred"]["rate"] == 0.0
    assert v["label_only"]["preferred"]["rate"] == pytest.approx(1 / 3)
    assert v["ranked"]["preferred"]["n_answered"] == 3
    f = s["friedman"]
    # plausibility: every block ranks ranked > unranked > label_only: Q = 12/(3*3*4) * (9^2+6^2+3^2) - 3*3*4 = 6
    assert f["plausibility"]["n_blocks"] == 3 and f["plausibility"]["df"] == 2
    assert f["plausibility"]["statistic"] == pytest.approx(6.0)
    assert f["plausibility"]["p_value"] == pytest.approx(math.exp(-3.0))                 # chi2(2) survival
    # grounding: rank sums 8.5, 6, 3.5 -> 4.1667, two ties of two: divide by 1 - 12/(3*3*8) = 5/6 -> 5.0
    assert f["grounding"]["statistic"] == pytest.approx(5.0)
    assert f["grounding"]["p_value"] == pytest.approx(math.exp(-2.5))
    assert f["grounding"]["mean_ranks"] == pytest.approx({"ranked": 8.5 / 3, "unranked": 2.0, "label_only": 3.5 / 3})
    # specificity: case 3 lacks one rating, so 2 complete blocks: rank sums 6, 3, 3 -> 12/24*54 - 24 = 3
    assert f["specificity"]["n_blocks"] == 2
    assert f["specificity"]["statistic"] == pytest.approx(3.0)
    assert f["clarity"]["statistic"] is None and "tie" in f["clarity"]["note"]
    assert s["n_raters"] == 1 and s["n_items_rated"] == 3 and "bootstrap" in s["ci_method"]
    assert score([tmp_path / "r1.csv"], hand_key, random_state=0) == s                 # reproducible


def test_several_raters_make_rater_by_case_blocks(tmp_path, hand_key, capsys):
    files = [write_ratings(tmp_path / "r1.csv", "r1"), write_ratings(tmp_path / "r2.csv", "r2")]
    out = tmp_path / "summary.json"
    assert main(["--score", *map(str, files), "--key", str(hand_key), "--out", str(out)]) == 0
    s = json.loads(out.read_text())
    assert s["n_raters"] == 2
    assert s["variants"]["ranked"]["dimensions"]["plausibility"]["mean"] == pytest.approx(14 / 3)
    assert s["variants"]["ranked"]["dimensions"]["plausibility"]["n"] == 6
    # 6 blocks, rank sums 18, 12, 6: Q = 12/(6*3*4) * (324+144+36) - 3*6*4 = 12
    assert s["friedman"]["plausibility"]["n_blocks"] == 6
    assert s["friedman"]["plausibility"]["statistic"] == pytest.approx(12.0)
    assert "chi2(2) = 12.000" in capsys.readouterr().out


@pytest.mark.parametrize("bad, message", [
    ({"kit_id": "ffffffffffffffff"}, "belong to another kit"),
    ({"extra": [["00c0ffee00c0ffee", "r1", 4, "A", 3, 3, 3, 3, ""]]}, "case '4' is not in the kit"),
    ({"extra": [["00c0ffee00c0ffee", "r1", 1, "D", 3, 3, 3, 3, ""]]}, "no option 'D'"),
    ({"extra": [["00c0ffee00c0ffee", "r9", 1, "A", 6, 3, 3, 3, ""]]}, "'6' is not a rating from 1 to 5"),
    ({"extra": [["00c0ffee00c0ffee", "r9", 1, "A", 3, 4.5, 3, 3, ""]]}, "'4.5' is not a rating"),
    ({"extra": [["00c0ffee00c0ffee", "r1", 1, "A", 3, 3, 3, 3, ""]]}, "twice"),
    ({"extra": [["00c0ffee00c0ffee", "r9", 1, "A", 3, 3, 3, 3, 1],
                ["00c0ffee00c0ffee", "r9", 1, "B", 3, 3, 3, 3, 1]]}, "exactly one option"),
])
def test_scoring_refuses_bad_ratings(tmp_path, hand_key, capsys, bad, message):
    path = write_ratings(tmp_path / "bad.csv", "r1", **bad)
    with pytest.raises(ReaderError, match=re.escape(message)):
        score([path], hand_key)
    assert main(["--score", str(path), "--key", str(hand_key), "--out", str(tmp_path / "s.json")]) == 2
    assert message in capsys.readouterr().err


def test_module_entry_point(tmp_path):
    report = write_report(tmp_path / "rep")
    res = subprocess.run([sys.executable, "-m", "evaluation.rating_kit", str(report), "--n", "4", "--random-state",
                          "5", "--out", str(tmp_path / "kit")], capture_output=True, text=True, timeout=120,
                         check=False)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "kit" / "rating_kit.html").is_file()
    assert len(json.loads((tmp_path / "kit" / "key.json").read_text())["items"]) == 4


# ---- the page in a real browser ---------------------------------------------------------------------------

def _chrome(download_dir: Path):
    return headless_chrome(download_dir)


def test_rating_session_in_headless_chromium(tmp_path):
    folder = build_kit(write_report(tmp_path / "rep"), n=3, random_state=2, out=tmp_path / "kit")
    key = json.loads((folder / "key.json").read_text())
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    drv = _chrome(downloads)
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By
    try:
        drv.get((folder / "rating_kit.html").as_uri())
        # the animation advances: the frame counter and a bone's drawn coordinates change
        svg = drv.find_element(By.ID, "skel-1")
        bone = svg.find_elements(By.CSS_SELECTOR, "line.bone")[9]            # right knee to ankle
        f0, x0 = svg.get_attribute("data-frame"), bone.get_attribute("x2")
        time.sleep(0.4)
        f1, x1 = svg.get_attribute("data-frame"), bone.get_attribute("x2")
        assert f1 != f0 and x1 != x0
        drv.find_element(By.CSS_SELECTOR, 'button.play[data-case="1"]').click()    # pause holds the frame
        p0 = svg.get_attribute("data-frame")
        time.sleep(0.3)
        assert svg.get_attribute("data-frame") == p0
        # the page's DOM shows each option's planted variant, the injected script as text, and opened no alert
        for it in key["items"]:
            for option, variant in it["options"].items():
                text = drv.find_element(By.CSS_SELECTOR, f'p.rtext[data-case="{it["item"]}"][data-option="{option}"]')
                assert text.text.startswith(f"VARIANT-{variant} ")
                assert (f"{XSS} & more" in text.text) == (variant == "unranked")
        with pytest.raises(NoAlertPresentException):
            _ = drv.switch_to.alert.text
        # fill every answer: 'ranked' all 5s, 'unranked' all 3s, 'label_only' all 1s, 'ranked' chosen best
        value = {"ranked": 5, "unranked": 3, "label_only": 1}
        drv.find_element(By.ID, "rater").send_keys("rater <1>, \"quoted\"")
        for it in key["items"]:
            for option, variant in it["options"].items():
                for d in DIMS:
                    drv.find_element(By.CSS_SELECTOR, f'input[name="c{it["item"]}-{option}-{d}"]'
                                                      f'[value="{value[variant]}"]').click()
            best = next(o for o, v in it["options"].items() if v == "ranked")
            drv.find_element(By.CSS_SELECTOR, f'input[name="c{it["item"]}-best"][value="{best}"]').click()
        progress = drv.find_element(By.ID, "progress")
        assert progress.get_attribute("data-answered") == progress.get_attribute("data-total") == str(3 * 13)
        drv.refresh()                                               # answers and rater ID survive a reload
        assert drv.find_element(By.ID, "progress").get_attribute("data-answered") == "39"
        assert drv.find_element(By.ID, "rater").get_attribute("value") == "rater <1>, \"quoted\""
        drv.find_element(By.ID, "download").click()
        target = downloads / "ratings.csv"
        for _ in range(100):
            if target.is_file() and not list(downloads.glob("*.crdownload")):
                break
            time.sleep(0.1)
        assert target.is_file(), f"no download; found {list(downloads.iterdir())}"
    finally:
        drv.quit()
    rows = list(csv.DictReader(target.open(newline="")))
    assert len(rows) == 9 and {r["rater_id"] for r in rows} == {"rater <1>, \"quoted\""}
    s = score([target], folder / "key.json")
    for variant, v in value.items():
        for d in DIMS:
            assert s["variants"][variant]["dimensions"][d]["mean"] == float(v)
            assert s["variants"][variant]["dimensions"][d]["n"] == 3
    assert s["variants"]["ranked"]["preferred"]["rate"] == 1.0
    assert s["friedman"]["plausibility"]["n_blocks"] == 3
    assert s["friedman"]["plausibility"]["statistic"] == pytest.approx(6.0)
