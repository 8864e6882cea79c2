"""The files here are programs for ``nox -s ecosystem``, not tests: they import braintools and brainpy,
which the test sessions do not install, and run at import time only under ``__main__``. pytest
(``--doctest-modules`` imports every ``.py`` file under testpaths) must not collect them."""

collect_ignore_glob = ["*.py"]
