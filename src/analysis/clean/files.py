"""What is in a raw folder: regular files only, never followed out of it.

:func:`scan_raw` lists the raw folder without following a symbolic link (to a file or a
folder, inside the raw folder or out of it) and without opening anything. Links, folders
named like a data file and special files (pipes, devices) are refused with a reason; the
cleaner reads only the regular files listed. ``_truth/`` (synthetic data only) and names
starting with ``.`` are not part of a delivery and are left out.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

DATA_SUFFIX = re.compile(r"\.(?:csv|xlsx|xlsm|xls|txt|json)$", re.IGNORECASE)
"""Names that a folder should not carry (they name files the contract describes)."""

LINK_REASON = (
    "a symbolic link, not a file: the cleaner reads only files stored in the raw folder "
    "itself and never follows a link (copy the file in instead)"
)
FOLDER_REASON = (
    "a folder named like a data file: the contract expects a file here (move its contents "
    "out and remove the folder)"
)
SPECIAL_REASON = "not a regular file (a pipe, socket or device): it cannot be a return"


@dataclass
class RawInventory:
    """The regular files of a raw folder (relative paths, ``/`` separators) and the entries
    refused, each with its reason."""

    files: set[str] = field(default_factory=set)
    refused: dict[str, str] = field(default_factory=dict)

    def under(self, folder: str) -> list[str]:
        """Files two levels under ``folder`` (``folder/<service>/<name>``), sorted."""
        prefix = folder + "/"
        return sorted(f for f in self.files if f.startswith(prefix) and f.count("/") == 2)


def scan_raw(raw_dir: Path) -> RawInventory:
    """List ``raw_dir`` without following links (see the module docstring)."""
    inv = RawInventory()
    stack = [(Path(raw_dir), "")]
    while stack:
        folder, rel = stack.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                name = entry.name
                path = f"{rel}{name}"
                if name.startswith(".") or (not rel and name == "_truth"):
                    continue
                if entry.is_symlink():
                    inv.refused[path] = LINK_REASON
                elif entry.is_dir(follow_symlinks=False):
                    if DATA_SUFFIX.search(name):
                        inv.refused[path] = FOLDER_REASON
                    stack.append((Path(entry.path), f"{path}/"))
                elif entry.is_file(follow_symlinks=False):
                    inv.files.add(path)
                else:
                    inv.refused[path] = SPECIAL_REASON
    return inv
