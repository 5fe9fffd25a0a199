"""Notebooks read and saved as git stores them, so that JupyterLab started from .venv opens a
committed notebook unmodified and saving it leaves `git status` clean, whatever Python .venv has.

The committed notebooks carry the `language_info` the kernel reports, without its one
Python-specific value, `version`. JupyterLab writes the kernel's `language_info` into a notebook
when the kernel starts and marks the notebook modified if that changed anything (a missing
`version` included). So the server adds the version of its own Python, which is the kernel's (the
imagelab kernel is .venv's Python), when it hands a notebook to JupyterLab, and strips it again,
with the outputs, when it saves one: what lands on disk is what the git filter (nbstripout,
configured by `make setup`) would store.

`make setup` installs this file as .venv/etc/jupyter/jupyter_server_config.py (see README.md).
"""

import subprocess
import sys
from pathlib import Path

from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager
from jupyter_server.services.contents.manager import ContentsManager
from nbformat import from_dict
from nbstripout import strip_output

# What the imagelab kernel reports as language_info.version: ipykernel's own expression for it.
PYTHON_VERSION = sys.version.split()[0]

# What the git filter strips from a notebook's metadata: nbstripout's defaults, and the Python
# version (the Makefile's NB_STRIP_METADATA). Outputs, execution counts and cell ids go too.
STRIPPED_KEYS = [
    "metadata.signature",
    "metadata.widgets",
    "cell.metadata.collapsed",
    "cell.metadata.ExecuteTime",
    "cell.metadata.execution",
    "cell.metadata.heading_collapsed",
    "cell.metadata.hidden",
    "cell.metadata.scrolled",
    "metadata.language_info.version",
]


def _ignored_by_git(file: Path) -> bool:
    """Whether git ignores the file (the executed copies in build/ and sweeps/*/notebooks/)."""
    try:
        check = subprocess.run(
            ["git", "check-ignore", "--quiet", "--", file.name], cwd=file.parent, check=False
        )
    except OSError:  # no git to ask: a notebook of the project, saved stripped
        return False
    return check.returncode == 0


def strip_as_git_stores(
    model: dict, path: str, contents_manager: ContentsManager, **kwargs
) -> None:
    """Pre-save hook: save a notebook as the git filter stores it, outputs and Python version
    stripped, unless git ignores it (an executed copy keeps its outputs)."""
    if model["type"] != "notebook" or _ignored_by_git(
        Path(contents_manager.root_dir, path.strip("/"))
    ):
        return
    notebook = from_dict(model["content"])
    strip_output(
        notebook, keep_output=None, keep_count=False, keep_id=False, extra_keys=STRIPPED_KEYS
    )
    model["content"] = notebook


class GitNotebooksManager(AsyncLargeFileManager):
    """The default contents manager, which hands a notebook to JupyterLab with the version the
    kernel will report, and saves it through `strip_as_git_stores`."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.register_pre_save_hook(strip_as_git_stores)

    async def get(self, path: str, content: bool = True, **options) -> dict:
        model = await super().get(path, content=content, **options)
        if model["type"] == "notebook" and model["content"] is not None:
            language = model["content"]["metadata"].get("language_info", {})
            if language.get("name") == "python":
                language.setdefault("version", PYTHON_VERSION)
        return model


c = get_config()  # noqa: F821 (defined by the Jupyter config loader)
c.ServerApp.contents_manager_class = GitNotebooksManager
