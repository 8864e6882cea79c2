"""Sphinx configuration of the brainstate documentation site (``nox -s docs`` builds it).

Pages are MyST Markdown; those with ``{code-cell}`` blocks are notebooks that myst-nb executes on
every build (``nb_execution_mode = "force"``), and an exception in a cell fails the build. The API
reference under ``api/_autogen/`` is written at the start of each build by ``_ext/apigen.py`` from
the public names of the modules, so it always matches the code.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))
# The notebooks' kernels inherit this process's environment: examples run on the CPU, whatever is installed.
os.environ.setdefault("JAX_PLATFORMS", "cpu")
# The kernels have no ipywidgets (a static page cannot run a widget), so a tqdm bar from tqdm.auto
# (brainstate.transform.ProgressBar's) is the text bar; tqdm's warning that it fell back is noise on a page.
os.environ["PYTHONWARNINGS"] = ",".join(filter(None, [os.environ.get("PYTHONWARNINGS"), "ignore:IProgress not found"]))

import brainstate  # noqa: E402 - after the environment is set

project = "brainstate"
author = "the brainstate developers"
copyright = "the brainstate developers"  # noqa: A001 - Sphinx's name
release = version = brainstate.__version__

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "apigen",   # writes the API reference pages (docs/_ext/apigen.py)
    "apixref",  # resolves their cross-references (docs/_ext/apixref.py)
]

root_doc = "index"
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb"}
exclude_patterns = ["_build", "_ext", "requirements.txt", "**/.ipynb_checkpoints", "Thumbs.db", ".DS_Store"]

# -- strictness: `nox -s docs` adds -W (warnings are errors) and -n (nitpicky) ---------------------------
nitpicky = True
# Names from other projects: this build is offline, so there are no intersphinx inventories to link
# them to. Only third-party and standard-library targets are listed; a broken reference to a
# brainstate name still fails the build.
nitpick_ignore_regex = [
    (r"py:.*", r"(jax|jaxlib|numpy|np|jnp|optax|matplotlib|brainunit|u|treescope|flax|equinox|msgpack|scipy)(\..*)?"),
    (r"py:.*", r"(typing|typing_extensions|collections|collections\.abc|types|enum|abc|dataclasses|functools)\..*"),
    (r"py:.*", r"(contextlib|threading|os|pathlib|weakref|numbers|inspect|io|builtins)\..*"),
    # builtins and typing names as signatures spell them
    (r"py:.*", r"(Any|Callable|Sequence|Mapping|MutableMapping|Iterable|Iterator|Hashable|Optional|Union|Literal)"),
    (r"py:.*", r"(TypeVar|Generic|Protocol|ParamSpec|Self|TypeAlias|Type|NoneType|ellipsis|EllipsisType)"),
    (r"py:.*", r"(Array|ArrayLike|DTypeLike|PyTree|Shape|PathLike|Path|PRNGKeyArray|KeyArray|Device|Sharding)"),
]
# brainstate.transform.named_scope is jax.named_scope itself, with JAX's docstring and its references
nitpick_ignore = [("py:func", "experimental.jax2tf.convert")]

# -- autodoc -------------------------------------------------------------------------------------------
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
# brainstate's docstrings never start with a signature line; a first line such as the inherited
# "D.items() -> a set-like object ..." of a Mapping method must not be read as one
autodoc_docstring_signature = False
autosummary_generate = False  # apigen writes the pages; the autosummary tables only link to them
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
python_maximum_signature_line_length = 100

# -- myst-nb -------------------------------------------------------------------------------------------
myst_enable_extensions = ["colon_fence", "deflist", "dollarmath"]
myst_heading_anchors = 3
nb_execution_mode = "force"
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_execution_timeout = 300
nb_merge_streams = True

# -- HTML ----------------------------------------------------------------------------------------------
html_theme = "furo"
html_title = f"brainstate {release}"
html_static_path: list[str] = []
