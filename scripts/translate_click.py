"""Refresh kpi/locale/zh_CN/LC_MESSAGES/messages.po from click's own strings and compile it.

click marks its built-in texts ("Usage:", "Options", "Missing option" …) for
gettext in the default domain; kpi ships a zh_CN catalogue for them so help and
usage errors read in Chinese too. Run after upgrading click (needs Babel):

    python scripts/translate_click.py
"""

from __future__ import annotations

from pathlib import Path

from babel.messages import mofile, pofile
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir

import click

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "kpi" / "locale" / "zh_CN" / "LC_MESSAGES" / "messages.po"
ZH = {
    "Aborted!": "已中止!",
    "Options": "选项",
    "Positional arguments": "位置参数",
    "Commands": "命令",
    "Missing command.": "缺少命令。",
    "env var: {var}": "环境变量:{var}",
    "default: {default}": "默认:{default}",
    "required": "必填",
    "Show the version and exit.": "显示版本并退出。",
    "Show this message and exit.": "显示本帮助并退出。",
    "%(prog)s, version %(version)s": "%(prog)s,版本 %(version)s",
    "Error: {message}": "错误:{message}",
    "Try '{command} {option}' for help.": "运行 '{command} {option}' 查看帮助。",
    "Invalid value: {message}": "无效的值:{message}",
    "Invalid value for {param_hint}: {message}": "{param_hint} 的值无效:{message}",
    "Missing argument": "缺少参数",
    "Missing option": "缺少选项",
    "Missing parameter": "缺少参数",
    "Missing {param_type}": "缺少{param_type}",
    "Missing parameter: {param_name}": "缺少参数:{param_name}",
    "No such option {name!r}.": "没有选项 {name!r}。",
    "No such command {name!r}.": "没有命令 {name!r}。",
    "unknown error": "未知错误",
    "Usage:": "用法:",
    "Option {name!r} does not take a value.": "选项 {name!r} 不接受值。",
    "file": "文件",
    "directory": "目录",
    "path": "路径",
    "{name} {filename!r} does not exist.": "{name} {filename!r} 不存在。",
    "{name} {filename!r} is a file.": "{name} {filename!r} 是文件。",
    "{name} {filename!r} is a directory.": "{name} {filename!r} 是目录。",
    "{name} {filename!r} is not readable.": "{name} {filename!r} 不可读。",
    "{name} {filename!r} is not writable.": "{name} {filename!r} 不可写。",
    "Could not open file {filename!r}: {message}": "无法打开文件 {filename!r}:{message}",
}
ZH_PLURAL = {
    "Got unexpected extra argument ({args})": ("多余的参数({args})",),
    "Did you mean {possibility}?": ("您是不是要用 {possibility}?",),
    "Option {name!r} requires an argument.": ("选项 {name!r} 需要一个值。",),
    "{value!r} is not {choice}.": ("{value!r} 不是 {choice}。",),
}


def main() -> None:
    catalog = Catalog(locale="zh_CN", project="kpi (click's messages)", fuzzy=False)
    for filename, lineno, message, _comments, _context in extract_from_dir(Path(click.__file__).parent):
        key = message[0] if isinstance(message, tuple) else message
        string = ZH.get(key) or ZH_PLURAL.get(key)
        if string:
            catalog.add(message, string, [(filename, lineno)])
    PO.parent.mkdir(parents=True, exist_ok=True)
    with open(PO, "wb") as handle:
        pofile.write_po(handle, catalog, omit_header=False, sort_output=True, width=0)
    with open(PO.with_suffix(".mo"), "wb") as handle:
        mofile.write_mo(handle, catalog)
    print(f"wrote {PO} and {PO.with_suffix('.mo').name}")


if __name__ == "__main__":
    main()
