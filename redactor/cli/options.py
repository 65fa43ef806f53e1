"""Every option that more than one command shares, declared once.

The secret-source and engine options are generated from :data:`redactor.config.OPTIONS`, so a
flag is always ``--`` + its ``[tool.redactor]`` key and its parsed value lands on the attribute
named by its Python keyword, which :func:`redactor.config.settings_from_args` reads back.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from redactor.config import BY_KEY, OPTIONS, Option
from redactor.engine.matchers import ENGINES

__all__ = [
    "ADD_MASK_HELP",
    "add_detect_arguments",
    "add_mask_arguments",
    "add_setting_arguments",
    "add_source_arguments",
    "setting_flags",
]

SOURCE_GROUP = (
    "secret sources (repeatable; also read from .redactor.toml or [tool.redactor] in "
    "pyproject.toml)"
)

ADD_MASK_HELP = (
    "GitHub Actions '::add-mask::VALUE' lines register VALUE for the rest of the output (the line "
    "itself is passed on as '::add-mask::[REDACTED]'). Give --no-add-mask to treat them as text."
)


def _add(group: argparse._ActionsContainer, option: Option, help_text: str | None = None) -> None:
    if not option.cli:
        return  # [tool.redactor] or Python only (user detectors are tables)
    names = [option.flag, *option.flag_aliases]
    text = help_text or option.help
    kwargs: dict = {"dest": option.keyword, "help": text}
    if option.kind in ("names", "paths", "encodings"):
        kwargs.update(action="append", metavar=option.metavar)
        kwargs["default"] = None if option.kind == "encodings" else []
        if option.kind == "paths":
            kwargs["type"] = Path
    elif option.kind == "int":
        kwargs.update(type=int, default=None, metavar=option.metavar)
    elif option.kind == "bool":
        kwargs.update(action="store_true", default=None)
    elif option.kind == "discover":
        # --discover NAME (repeatable) keeps only those discovery sources; --no-discover none.
        kwargs.update(action="append", metavar=option.metavar, default=None)
        kwargs["help"] = f"{text} (default: all; {option.env_var}=0 also turns it off)"
        group.add_argument(
            "--no-discover",
            dest=option.keyword,
            action="store_const",
            const=False,
            help="redact only the configured sources: no discovery",
        )
    elif option.kind == "detect":
        # --detect KIND[,KIND] (repeatable) turns on only those kinds; --no-detect none. Declared
        # here once, so every command that redacts (filter, run, scrub, scrub-logs) has them.
        kwargs.update(action="append", metavar=option.metavar, default=None)
        kwargs["help"] = help_text or (
            "hide these well-known token shapes even when nobody registered them: detector "
            "kinds, 'default' for the default set, 'all' for every kind (`redactor detectors` "
            f"lists them); default: the default set ({option.env_var}=0 turns it off)"
        )
        group.add_argument(
            "--no-detect",
            dest=option.keyword,
            action="store_const",
            const=False,
            help="hide only the registered and discovered secrets: no token detection",
        )
    elif option.kind == "engine":
        kwargs.update(choices=ENGINES, default=None)  # argparse shows the choices
        kwargs["help"] = (
            f"{text} (default: {option.env_var}, else [tool.redactor] engine, else auto)"
        )
    group.add_argument(*names, **kwargs)


def add_setting_arguments(
    group: argparse._ActionsContainer, *, help_texts: dict[str, str] | None = None
) -> None:
    """One flag per option of :data:`redactor.config.OPTIONS` (sources, min-length, encodings,
    engine, allow-empty, discover, detect...), except those that only a file or Python can give."""
    for option in OPTIONS:
        _add(group, option, (help_texts or {}).get(option.key))


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of every command that needs secrets: the settings, ``--config`` and
    ``--no-config``."""
    group = parser.add_argument_group(SOURCE_GROUP)
    add_setting_arguments(group)
    _add_config_arguments(group)


def add_detect_arguments(parser: argparse.ArgumentParser) -> None:
    """``--detect``/``--no-detect``, ``--config`` and ``--no-config`` alone (``redactor
    detectors``: which detectors a command with these settings would use)."""
    group = parser.add_argument_group("token detection (also read from [tool.redactor])")
    _add(group, BY_KEY["detect"])
    _add_config_arguments(group)


def _add_config_arguments(group: argparse._ActionsContainer) -> None:
    group.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="PATH",
        help="the config file to read: a .redactor.toml, or a pyproject.toml for its "
        "[tool.redactor] (default: the one REDACTOR_CONFIG names, else the nearest one)",
    )
    group.add_argument(
        "--no-config",
        action="store_true",
        help="read no config file (.redactor.toml, pyproject.toml, REDACTOR_CONFIG)",
    )


def setting_flags(args: argparse.Namespace) -> list[str]:
    """The flags that reproduce the settings given in ``args`` (``install-git-filter`` stores
    them in the filter command); paths are made absolute, since git runs the filter elsewhere."""
    out: list[str] = []
    for option in OPTIONS:
        value = getattr(args, option.keyword, None)
        if option.kind in ("discover", "detect") and value is not None:
            off = f"--no-{option.key}"
            out += [off] if value is False else [f"{option.flag}={v}" for v in value]
            continue
        if not option.cli:
            continue
        if value is None or value is False or (option.is_list and not value):
            continue
        if option.kind == "bool":
            out.append(option.flag)
        elif option.kind in ("names", "paths", "encodings"):
            for item in value:
                item = str(Path(item).resolve()) if option.kind == "paths" else item
                out += [option.flag, item]
        else:
            out += [option.flag, str(value)]
    return out


def add_mask_arguments(parser: argparse.ArgumentParser) -> None:
    """``--no-add-mask`` and ``--add-mask-only``, shared by ``filter`` and ``run``."""
    group = parser.add_argument_group("::add-mask:: workflow commands")
    mode = group.add_mutually_exclusive_group()
    mode.add_argument(
        "--no-add-mask",
        dest="add_mask",
        action="store_false",
        help="do not honour '::add-mask::' lines; pass them on as ordinary text",
    )
    mode.add_argument(
        "--add-mask-only",
        action="store_true",
        help="allow starting with no configured secret source (or sources that hold no value): "
        "mask what '::add-mask::' lines register, and whatever the sources give",
    )
