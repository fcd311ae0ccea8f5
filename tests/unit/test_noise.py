"""tune's quieting holds for the libraries' own loggers whatever the CPU or the tests that ran before: a warning
through the `kernels` package's loggers (the offline-mode publisher trust note) and bitsandbytes' kernels note
print nothing after quiet_libraries, and debug=true keeps them."""
import logging

import pytest

from tune.cli.noise import quiet_libraries

FOREIGN_LOGGERS = ["kernels._internals.hf_hub", "kernels", "bitsandbytes.backends.cpu.ops"]


@pytest.fixture
def fresh_levels():
    saved = {name: logging.getLogger(name).level for name in FOREIGN_LOGGERS}
    for name in FOREIGN_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET)
    yield
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


@pytest.mark.parametrize("name", FOREIGN_LOGGERS)
def test_library_warnings_are_silenced(name, fresh_levels, caplog):
    quiet_libraries(debug=False)
    logging.getLogger(name).warning("Skipping publisher trust check for 'kernels-community/x' (offline mode)")
    assert caplog.records == []  # the logger dropped it: no handler, pytest's or the terminal's, sees it


def test_debug_keeps_library_warnings(fresh_levels, caplog):
    quiet_libraries(debug=True)
    logging.getLogger("kernels._internals.hf_hub").warning("Skipping publisher trust check")
    assert [r.getMessage() for r in caplog.records] == ["Skipping publisher trust check"]
