"""The lab catalogue: every module in this package (except `base`) that exports `LAB` is a lab.

    get_lab("gd-linear")   -> the Lab (KeyError listing the known ids otherwise)
    all_labs()             -> every Lab, sorted by id
    lab_ids()              -> their ids
    load_lab_ref("pkg.mod:ATTR" or "/path/file.py:ATTR") -> a Lab defined outside the catalogue

Modules are discovered, not listed, so adding a lab is adding a file. Importing them is cheap: labs
load data and build networks only inside `run`.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from functools import cache
from pathlib import Path

from labs.catalog.base import FailureMode, Lab, LabParams, Outcome, ParamError, RunContext, SeedError, validate_seed

__all__ = ["FailureMode", "Lab", "LabParams", "Outcome", "ParamError", "RunContext", "SeedError", "all_labs", "get_lab",
           "lab_ids", "load_lab_ref", "validate_seed"]


@cache
def _registry() -> dict[str, Lab]:
    labs: dict[str, Lab] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name == "base" or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        lab = getattr(module, "LAB", None)
        if lab is None:
            continue  # a helper module shared by several labs
        if lab.id in labs:
            raise RuntimeError(f"lab id {lab.id!r} is defined twice ({module.__name__})")
        labs[lab.id] = lab
    return dict(sorted(labs.items()))


def get_lab(lab_id: str) -> Lab:
    try:
        return _registry()[lab_id]
    except KeyError:
        raise KeyError(f"unknown lab {lab_id!r}; known labs: {', '.join(lab_ids())}") from None


def all_labs() -> list[Lab]:
    return list(_registry().values())


def lab_ids() -> list[str]:
    return list(_registry())


def load_lab_ref(ref: str) -> Lab:
    """A Lab named as "package.module:ATTR" or "/path/to/file.py:ATTR" (plugins, tests)."""
    target, sep, attr = ref.rpartition(":")
    if not sep or not target or not attr:
        raise ValueError(f"lab reference {ref!r} must look like 'package.module:ATTR' or 'file.py:ATTR'")
    if target.endswith(".py"):
        path = Path(target)
        spec = importlib.util.spec_from_file_location(f"_pathlab_lab_{path.stem}", path)
        if spec is None or spec.loader is None or not path.is_file():
            raise ValueError(f"lab reference {ref!r}: no such file {path}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    else:
        module = importlib.import_module(target)
    lab = getattr(module, attr, None)
    if not isinstance(lab, Lab):
        raise ValueError(f"lab reference {ref!r}: {attr} is not a Lab")
    return lab
