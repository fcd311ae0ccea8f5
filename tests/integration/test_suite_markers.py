"""The suite's own promises: the slow marker leaves an inner loop, and the README's command runs everything."""


def test_slow_marker_is_registered_and_leaves_an_inner_loop():
    """`pytest -m "not slow"` is the inner loop; the README's command still runs everything."""
    import subprocess
    import sys

    from tests.conftest import REPO

    def collected(*args):
        r = subprocess.run(
            [sys.executable, "-m", "pytest", "-o", "addopts=", "--collect-only", "-q", "--strict-markers", *args],
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=300,
        )
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
        return {line for line in r.stdout.splitlines() if "::" in line}

    everything, inner = collected(), collected("-m", "not slow")
    slow = everything - inner
    assert inner and slow and inner < everything
    assert any("full_matrix" in t for t in slow) and any("test_distributed" in t for t in slow)
