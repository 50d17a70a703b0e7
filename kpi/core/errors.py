"""Every error kpi reports, as small named types carrying data.

Input problems are collected, not raised one by one: a supervisor sees every
wrong cell of a sheet at once. Each exception also subclasses a builtin, so
library callers can catch ``ValueError`` without knowing kpi's types.
"""

from __future__ import annotations

from typing import NamedTuple


class KpiError(Exception):
    """Base of every error kpi raises on purpose."""


class InputProblem(NamedTuple):
    """One thing wrong with the input.

    agent:    agent id (or name) of the row, "" when the problem is not a row's
    field:    field id, "" when the problem is the whole file
    location: sheet!cell, CSV line, or the file name
    value:    the value as typed ("" when empty)
    code:     message key in ``kpi/messages.toml`` saying what is expected
    params:   values for the message placeholders, as (name, text) pairs
    """

    agent: str
    field: str
    location: str
    value: str
    code: str
    params: tuple[tuple[str, str], ...] = ()


class InputError(KpiError, ValueError):
    """The input cannot be scored; ``problems`` lists every reason."""

    def __init__(self, problems: list[InputProblem] | tuple[InputProblem, ...]):
        self.problems = tuple(problems)
        super().__init__(f"{len(self.problems)} input problem(s)")

    def __reduce__(self):
        """Pickled with its problems (it crosses from a reading process to the one reporting)."""
        return type(self), (self.problems,)


class ConfigError(KpiError, ValueError):
    """A config file is broken: which file, which key, what, and an example.

    One error stands for every fault found in one pass over the config: ``others``
    holds the faults after the first, so a person mends them all at once."""

    def __init__(self, file: str, key: str, message: str, example: str = "", others: tuple = ()):
        self.file, self.key, self.message, self.example = file, key, message, example
        self.others: tuple[ConfigError, ...] = tuple(others)
        super().__init__(self.render())

    @classmethod
    def of(cls, errors: list[ConfigError] | tuple[ConfigError, ...]) -> ConfigError:
        """One error carrying every fault of ``errors`` (at least one), first one first."""
        first, *rest = errors
        return cls(first.file, first.key, first.message, first.example, tuple(rest))

    @property
    def parts(self) -> tuple[ConfigError, ...]:
        """Every fault this error reports, each on its own (itself first)."""
        return (ConfigError(self.file, self.key, self.message, self.example), *self.others)

    def render(self) -> str:
        """The message a person sees: file, key, reason, then a correct example; every fault."""
        text = f"{self.file}: {self.key}: {self.message}"
        if self.example:
            text += "\n  A correct example:\n" + _indent(self.example.strip(), "    ")
        return "\n".join([text, *(other.render() for other in self.others)])

    def __reduce__(self):
        return type(self), (self.file, self.key, self.message, self.example, self.others)


class PeriodError(KpiError, ValueError):
    """A period that is not a YYYY-MM month; ``code`` is its message key (as for a refusal)."""

    code = "period_invalid"

    def __init__(self, value: object):
        self.value, self.params = value, {}
        super().__init__(f"not a YYYY-MM month: {value!r}")

    def __reduce__(self):
        return type(self), (self.value,)


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line for line in text.splitlines())
