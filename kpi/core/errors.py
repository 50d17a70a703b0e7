"""Every error kpi reports, as small named types carrying data, and the one record they share.

Input problems are collected, not raised one by one: a supervisor sees every
wrong cell of a sheet at once. Each exception also subclasses a builtin, so
library callers can catch ``ValueError`` without knowing kpi's types.

Whatever found it (the input's cells, the config files, the ledger refusing a request, a
returned scorecard refused), a problem is reported as one :class:`Problem` record: where it
is, a message key with its values, and a hint; :func:`problems_of` turns any of kpi's
errors into those records, and one function renders a list of them
(:func:`kpi.render.terminal.problem_lines`; the web shows the same records).
"""

from __future__ import annotations

from typing import NamedTuple


class KpiError(Exception):
    """Base of every error kpi raises on purpose."""


# what a problem is found in: the input, the config, the ledger (a refused request), a returned
# card, the output (a file that could not be written)
INPUT, CONFIG, LEDGER, RETURNED, OUTPUT = "input", "config", "ledger", "returned", "output"


class Problem(NamedTuple):
    """One thing wrong, whatever found it: the one error record kpi reports and renders.

    source:      what it was found in: INPUT (a sheet's cells), CONFIG (a config file), LEDGER
                 (a request the ledger or the month's state refuses), RETURNED (a returned
                 scorecard refused), OUTPUT (a file kpi could not write)
    location:    sheet!cell, CSV line or file name (input); the file (config); the card's file
                 (returned); "" for a refused request (ledger)
    code:        message key in ``kpi/messages.toml`` saying what is wrong or expected
    params:      values for the message placeholders, as (name, text) pairs
    hint:        message key of how to mend it ("" when none), filled by ``hint_params``
    agent, field, value: the row's agent, the field id (input) or key path (config), and the
                 value as typed, "" when the problem is not a row's, a field's, a value's
    """

    source: str
    location: str
    code: str
    params: tuple[tuple[str, str], ...] = ()
    hint: str = ""
    hint_params: tuple[tuple[str, str], ...] = ()
    agent: str = ""
    field: str = ""
    value: str = ""


class InputProblem(NamedTuple):
    """One thing wrong with the input, as the readers and checks collect it (:attr:`problem`:
    the same as the one error record).

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

    @property
    def problem(self) -> Problem:
        """This input problem as the one error record (source INPUT)."""
        return Problem(INPUT, self.location, self.code, self.params, agent=self.agent, field=self.field,
                       value=self.value)


def refusal(code: str, params: dict | tuple = (), location: str = "", source: str = LEDGER) -> Problem:
    """A refused request (``code``: its message key) as a Problem; ``location`` names the file
    refused (a returned card), if any."""
    pairs = tuple(params.items()) if isinstance(params, dict) else tuple(params)
    return Problem(source, location, code, tuple((k, str(v)) for k, v in pairs))


def problems_of(error: BaseException, source: str = LEDGER) -> tuple[Problem, ...]:
    """Any error kpi reports as its Problem records: an error that lists problems (input, config,
    proposal) gives them; one with a message ``code`` and ``params`` (the ledger's, the month's,
    an account's, a period's refusals) is one refusal from ``source``."""
    listed = getattr(error, "problems", None)
    if listed is not None:
        return tuple(p.problem if isinstance(p, InputProblem) else p for p in listed)
    return (refusal(error.code, error.params, source=source),)


class InputError(KpiError, ValueError):
    """The input cannot be scored; ``problems`` lists every reason."""

    def __init__(self, problems: list[InputProblem] | tuple[InputProblem, ...]):
        self.problems = tuple(problems)
        super().__init__(f"{len(self.problems)} input problem(s)")

    def __reduce__(self):
        """Pickled with its problems (it crosses from a reading process to the one reporting)."""
        return type(self), (self.problems,)


class RuleFault(ValueError):
    """A rule of a config file that breaks a law of the rules (tiers leaving a gap, weights that
    do not add up): its message key in ``kpi/messages.toml`` and the values it names, so the
    fault is said in the reader's language; ``str()`` is the English, for logs."""

    def __init__(self, code: str, message: str, **params: object):
        super().__init__(message)
        self.code, self.params = code, tuple((name, str(value)) for name, value in params.items())


class ConfigError(KpiError, ValueError):
    """A config file is broken: which file, which key, what, and an example.

    ``message`` is the fault in English (the error's ``str``, for library callers and logs);
    ``code`` and ``params``, where given, the same fault as a message key and its values, which
    people read in their language (its English is ``message`` again). One error stands for every
    fault found in one pass over the config: ``others`` holds the faults after the first, so a
    person mends them all at once."""

    def __init__(self, file: str, key: str, message: str, example: str = "", others: tuple = (),
                 code: str = "", params: tuple[tuple[str, str], ...] = ()):
        self.file, self.key, self.message, self.example = file, key, message, example
        self.code, self.params = code, tuple(params)
        self.others: tuple[ConfigError, ...] = tuple(others)
        super().__init__(self.render())

    @classmethod
    def of(cls, errors: list[ConfigError] | tuple[ConfigError, ...]) -> ConfigError:
        """One error carrying every fault of ``errors`` (at least one), first one first."""
        first, *rest = errors
        return cls(first.file, first.key, first.message, first.example, tuple(rest), first.code, first.params)

    @property
    def parts(self) -> tuple[ConfigError, ...]:
        """Every fault this error reports, each on its own (itself first)."""
        return (ConfigError(self.file, self.key, self.message, self.example, (), self.code, self.params),
                *self.others)

    @property
    def problems(self) -> tuple[Problem, ...]:
        """Every fault as a Problem record (file as location, key as field, the correct example as
        the hint), first one first: what the terminal and the web render."""
        return tuple(Problem(CONFIG, part.file, part.code or "config_problem",
                             (("file", part.file), ("setting", part.key), ("message", part.message), *part.params),
                             "config_example" if part.example else "",
                             (("example", _indent(part.example.strip(), "    ")),) if part.example else (),
                             field=part.key)
                     for part in self.parts)

    def render(self) -> str:
        """The error's plain text (its ``str``, for library callers and logs): file, key, reason,
        then a correct example; every fault. People see :attr:`problems`, rendered by the terminal."""
        text = f"{self.file}: {self.key}: {self.message}"
        if self.example:
            text += "\n  A correct example:\n" + _indent(self.example.strip(), "    ")
        return "\n".join([text, *(other.render() for other in self.others)])

    def __reduce__(self):
        return type(self), (self.file, self.key, self.message, self.example, self.others, self.code, self.params)


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
