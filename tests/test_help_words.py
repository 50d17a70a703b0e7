"""Issue 22: help and messages that cost no trust: translated --version, one default per option,
no option help broken inside a word, kpi --lang en --help, Chinese errors end with Chinese punctuation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import cli
from helpers import run
from kpi.core import i18n

ROOT = Path(cli.__file__).resolve().parent
COMMANDS = sorted(cli.main.commands)



def test_version_in_both_languages():
    import kpi
    assert run("--version").output == f"kpi 版本 {kpi.__version__}\n"
    assert run("--lang", "en", "--version").output == f"kpi version {kpi.__version__}\n"
    assert run("--version", KPI_LANG="en").output == f"kpi version {kpi.__version__}\n"


def test_lang_before_the_command_works():
    result = run("--lang", "en", "--help")
    assert result.exit_code == 0, result.output
    assert "Show the version and exit." in result.output and "示例" not in result.output
    sub = run("--lang", "en", "status", "--help")
    assert sub.exit_code == 0 and "Example: kpi status" in sub.output


def option_blocks(text: str) -> list[str]:
    """Each option's entry of a help text (its first line and the indented lines after it)."""
    blocks, current = [], None
    for line in text.split("\n"):
        if re.match(r"^  -", line):
            if current is not None:
                blocks.append(current)
            current = line
        elif current is not None and line.startswith("    "):
            current += "\n" + line
        else:
            if current is not None:
                blocks.append(current)
            current = None
    return blocks + ([current] if current else [])


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("command", COMMANDS)
def test_one_default_per_option(command, lang):
    text = run(command, "--help", "--lang", lang, COLUMNS="200").output
    for block in option_blocks(text):
        assert len(re.findall(r"默认|default", block)) <= 1, block


@pytest.mark.parametrize("width", ["60", "80", "100"])
@pytest.mark.parametrize("command", COMMANDS)
def test_no_option_help_is_broken_inside_a_word(command, width):
    for lang in ("zh", "en"):
        output = run(command, "--help", "--lang", lang, COLUMNS=width).output
        for param in cli.main.commands[command].params:    # localized by the run above
            for word in re.findall(r"[A-Za-z0-9_][A-Za-z0-9_./-]*[A-Za-z0-9_]", param.help or ""):
                assert word in output, (command, lang, width, word)
        for line in output.split("\n"):
            assert not re.match(r"^ {6,}[。,、;:)]", line), (command, lang, width, line)


def error_codes() -> set[str]:
    """Every message key kpi raises as a ledger or review error."""
    codes = set()
    for path in [ROOT / "cli.py", *(ROOT / "kpi").rglob("*.py")]:
        codes |= set(re.findall(r"(?:ReviewError|LedgerError)\(\s*\"([a-z_]+)\"", path.read_text(encoding="utf-8")))
    return codes


def test_chinese_error_messages_end_with_chinese_punctuation():
    codes = error_codes() | {"open_objections", "pending_levels", "unanswered_past_deadline", "interrupted",
                             "force_needs_reason", "period_invalid", "output_error"}
    assert {"month_closed", "no_open_objection", "ledger_missing", "pending_levels"} <= codes
    for code in sorted(codes):
        zh = i18n._catalogue()[code]["zh"]
        assert zh.endswith(("。", "!", "?")), (code, zh)
