"""The app's stylesheet, parsed once per source: opening a screen for the first time no
longer parses every CSS source of the app again.

Textual re-parses the whole stylesheet (every widget's DEFAULT_CSS and every screen's .tcss,
40 sources here) into a fresh ``Stylesheet`` with an empty cache whenever a screen with a
new CSS file is shown or ``refresh_css`` runs, which a mode's first screen does twice: three
full parses, 20-80 ms each on the shared box, in the key that first opened the alerts,
events or host screen, the incident view, help or a dialog (the soak's slowest keys, seen
with tests/soak/sampler.py). Here the rules of a source are kept by its text, location,
scope and the CSS variables (the theme's) they were parsed with, so a re-parse parses only
what is new; a theme change parses everything once again, as before.
"""

from __future__ import annotations

from typing import Any

from textual.css.model import RuleSet
from textual.css.stylesheet import Stylesheet
from textual.css.types import CSSLocation

RulesKey = tuple[Any, ...]


class CachedStylesheet(Stylesheet):
    def __init__(self, *, variables: dict[str, str] | None = None,
                 cache: dict[RulesKey, list[RuleSet]] | None = None) -> None:
        super().__init__(variables=variables)
        self._rules_cache: dict[RulesKey, list[RuleSet]] = {} if cache is None else cache
        self._vars_of: object = None  # the variables dict _vars_key was computed for
        self._vars_key: tuple[tuple[str, str], ...] = ()

    def _variables_key(self) -> tuple[tuple[str, str], ...]:
        if self._vars_of is not self._variables:  # set_variables gives a new dict
            self._vars_of, self._vars_key = self._variables, tuple(sorted(self._variables.items()))
        return self._vars_key

    def _parse_rules(self, css: str, read_from: CSSLocation, is_default_rules: bool = False,
                     tie_breaker: int = 0, scope: str = "") -> list[RuleSet]:
        key = (css, read_from, is_default_rules, tie_breaker, scope, self._variables_key())
        rules = self._rules_cache.get(key)
        if rules is None:  # a source with errors raises: never kept
            rules = super()._parse_rules(css, read_from, is_default_rules, tie_breaker, scope)
            if len(self._rules_cache) > 512:  # themes switched back and forth: start over
                self._rules_cache.clear()
            self._rules_cache[key] = rules
        return rules

    def copy(self) -> CachedStylesheet:
        sheet = CachedStylesheet(variables=self._variables.copy(), cache=self._rules_cache)
        sheet.source = self.source.copy()
        return sheet

    def reparse(self) -> None:
        """Textual's, with the fresh stylesheet (errors must not break this one) sharing
        the parsed rules."""
        sheet = CachedStylesheet(variables=self._variables, cache=self._rules_cache)
        for read_from, (css, is_defaults, tie_breaker, scope) in self.source.items():
            sheet.add_source(css, read_from=read_from, is_default_css=is_defaults,
                             tie_breaker=tie_breaker, scope=scope)
        try:
            sheet.parse()
        except Exception:
            self._invalid_css.update(sheet._invalid_css)
            raise
        self._rules = sheet.rules
        self._rules_map = None
        self.source = sheet.source
        self._require_parse = False
