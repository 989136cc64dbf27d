import re
import runpy
from pathlib import Path


def test_quickstart_runs(capsys):
    runpy.run_path(str(Path(__file__).parent.parent / "examples" / "quickstart.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert re.search(r"clips: \(\d+, 124, 17, 3\) float32", out)
    assert "true labels: GMFCS 2" in out
    assert "Cohort(simulated: 20 patients" in out
    assert re.search(r"measured \(median over clips\): cadence \d+ steps/min", out)
    assert "simulated cohort (not clinical data)" in out
